#!/usr/bin/env bash
# Builds every package for every GOOS/GOARCH the Go toolchain supports,
# with CGO_ENABLED=0: the module is pure Go and must stay buildable
# everywhere. Where a program cannot be linked without cgo (android, ios),
# the packages that are not programs are built alone, and the line says
# why. Exits 1 when any build fails. Two targets build at a time.
set -u
cd "$(dirname "$0")/.."
lib=$(go list -f '{{if ne .Name "main"}}{{.ImportPath}}{{end}}' ./... | tr '\n' ' ')
one() {
	local t=$1 os=${1%/*} arch=${1#*/} out
	if out=$(CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build ./... 2>&1); then
		echo "ok      $t"
		return 0
	fi
	case $out in
	*"requires external (cgo) linking"*) why="programs need cgo to link on $os" ;;
	*) why="" ;;
	esac
	if [[ -n $why ]] && out2=$(CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build $lib 2>&1); then
		echo "library $t ($why)"
		return 0
	fi
	echo "FAILED  $t:"
	echo "${out2:-$out}" | head -8 | sed 's/^/    /'
	return 1
}
export -f one
export lib
start=$(date +%s)
report=$(go tool dist list | xargs -P 2 -I{} bash -c 'one {}')
echo "$report"
status=0
if grep -q '^FAILED' <<<"$report"; then
	status=1
fi
echo "crossbuild: $(go tool dist list | wc -l) targets in $(( $(date +%s) - start )) s"
exit $status
