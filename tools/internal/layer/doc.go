// Package layer handles OCI image layers for the hermetic build runner: it
// unpacks layers onto a root filesystem (Apply, OpenArchive), records a tree
// and finds what a build step changed in it (Snapshot, Diff), and writes
// changes or whole trees as deterministic gzip-compressed tar layers with
// their digests (Write, WriteFull). Linux only.
package layer
