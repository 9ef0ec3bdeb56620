module github.com/vmcoretools/vmcore

go 1.26.0

require (
	github.com/anchore/go-lzo v0.1.1 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
)
