module example.com/trapmod

go 1.26
