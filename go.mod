module github.com/vmcoretools/vmcore

go 1.26.0

require (
	github.com/anchore/go-lzo v0.1.1
	github.com/chzyer/readline v1.5.1
	github.com/cilium/ebpf v0.22.0
	github.com/go-delve/delve v1.27.2
	github.com/google/go-cmp v0.7.0
	github.com/klauspost/compress v1.20.4
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	golang.org/x/arch v0.33.0
)

require (
	golang.org/x/sys v0.46.0 // indirect
	golang.org/x/text v0.40.0 // indirect
)
