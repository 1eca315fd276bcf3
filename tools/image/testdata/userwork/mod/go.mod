module example.com/workmod

go 1.26

require example.com/worklib v0.0.0
