// A module of its own, so that the StageX module's `go` commands leave this
// workspace alone; Bazel builds it from BUILD files.
module stagex.invalid/e2e/consumer

go 1.26
