module github.com/effc/effc

go 1.26.8
