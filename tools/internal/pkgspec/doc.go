// Package pkgspec reads a StageX package.toml and derives what a build of
// the package needs: its image name, the files to download with their
// sha256, and the build arguments StageX passes to the Containerfile.
//
// # Where a package lives
//
// A package is the directory packages/<tier>/<name>/, with stage one of
// bootstrap, core, pallet and user. Its image is <tier>-<name>. Each entry
// of subpackages is built from the Containerfile stage package-<sub> and
// published as the image <tier>-<sub> (not <tier>-<name>-<sub>): StageX's
// target generator files subpackages under the parent's stage by their own
// name, which is why core/llvm can list "clang" and "llvm" among its
// subpackages.
//
// # The file
//
// The document has a [package] table, optional [sources.<id>] tables and an
// optional top-level release_monitoring_id (an integer StageX's updater
// uses). Every other key is an error, so a misspelt key does not pass
// unnoticed.
//
// [package] holds name (required; it must equal the directory name, since
// StageX finds the Containerfile by it), version or version_from (at most
// one; bootstrap packages such as stage0 have neither), description,
// license (or licenses: StageX's trees use both), website, platforms and
// subpackages. version_from names another
// package as "<tier>-<name>" and takes its version; see
// [Package.ResolveVersion]. license is an SPDX expression; a list of them
// is accepted too and joined with AND. platforms entries are os/arch or
// os/arch/variant.
//
// [sources.<id>] holds hash (required, sha256 hex), version, format, file,
// git_sha and mirrors. A source without version takes the package's. The
// file name is file, or else the last path element of the first mirror. A
// source needs a file or at least one mirror.
//
// # Placeholders
//
// file and mirrors are templates; the other values are taken literally.
// Every placeholder is computed from the source's version V:
//
//	{version}               V
//	{version_major}         V up to its first "."            1.2.3 -> 1
//	{version_major_minor}   V up to its second "."           1.2.3 -> 1.2 ("None" when V has no ".")
//	{version_dash}          every "." replaced by "-"        1.2.3 -> 1-2-3
//	{version_under}         every "." replaced by "_"        1.2.3 -> 1_2_3
//	{version_strip_suffix}  V up to its first "-"            1.2.3-rc.1 -> 1.2.3
//	{format}                the source's format
//	{file}                  the expanded file name (mirrors only)
//
// These follow StageX's src/common.py. Only "-" starts a suffix, as there:
// 1.2.3+build keeps its "+build". "{{" and "}}" stand for literal braces,
// as in the Python str.format StageX expands with. A placeholder whose
// value is missing (no version anywhere, no format) is an error rather than
// an empty string.
//
// # Build arguments
//
// [Package.BuildArgs] returns what StageX's src/targets.py passes: VERSION,
// VERSION_UNDER, VERSION_DASH, VERSION_MAJOR, VERSION_MAJOR_MINOR and
// VERSION_STRIP_SUFFIX when the package has a version, and for each source
// <ID>_VERSION and <ID>_SOURCE when the source sets its own version, and
// <ID>_GIT_SHA when it sets git_sha. <ID> is the source id upper-cased, no
// more ("-" stays: C-ARES_VERSION cannot be read with ${...}, but it is
// passed). Two ids that give the same <ID> are an error. <ID>_SOURCE is
// the file (or the first mirror's last path element, as written) expanded
// as targets.py does it: {version} is the source's, {version_dash} and
// {version_under} the package's; a source with its own version whose file
// name needs another placeholder is an error, since targets.py cannot
// expand it. The file downloaded (and Source.File) is expanded from the
// source's own version throughout, as StageX's fetch.py does.
//
// # Errors
//
// Every error for bad input is a *diag.Error naming the file and the line
// of the offending key (the line of the table header when a key is
// missing), and the parser reports the first problem in file order.
package pkgspec
