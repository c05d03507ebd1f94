module github.com/calsync/calsync

go 1.26.0
