module example.com/stubmod

go 1.26
