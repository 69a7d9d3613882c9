package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/regfile"
)

// Identity is what a USER value resolves to.
type Identity struct {
	UID uint32
	GID uint32
	// Groups are the supplementary groups; empty when USER names a group.
	Groups []uint32
}

// LookupUser resolves user (a USER value, as in Spec.User) the way Run
// does, with the user database in the file passwd and the group database in
// the file group; a missing file is an empty database. A caller that wants
// to know in advance whom Run will run a command as passes the host paths of
// the root's /etc/passwd and /etc/group, resolved inside the root.
func LookupUser(user, passwd, group string) (Identity, error) {
	pw, err := loadDB(passwd, false)
	if err != nil {
		return Identity{}, err
	}
	gr, err := loadDB(group, true)
	if err != nil {
		return Identity{}, err
	}
	return resolveUser(user, pw, gr)
}

// dbEntry is one parsed line of /etc/passwd or /etc/group.
type dbEntry struct {
	name    string
	id      uint32
	gid     uint32   // passwd only: primary group
	members []string // group only
}

// readDB parses an /etc/passwd (isGroup false) or /etc/group (isGroup true)
// file. Blank lines and comments are skipped. A line whose numeric fields do
// not parse is an error naming file and line, because silently skipping it
// could give the command the wrong identity.
func readDB(name string, r io.Reader, isGroup bool) ([]dbEntry, error) {
	var out []dbEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if isGroup {
			if len(f) < 3 {
				return nil, diag.Errorf(name, n, "expected name:password:gid[:members], got %q", line)
			}
			gid, err := strconv.ParseUint(f[2], 10, 32)
			if err != nil {
				return nil, diag.Errorf(name, n, "group %q: gid %q is not a number", f[0], f[2])
			}
			e := dbEntry{name: f[0], id: uint32(gid)}
			if len(f) > 3 && f[3] != "" {
				e.members = strings.Split(f[3], ",")
			}
			out = append(out, e)
			continue
		}
		if len(f) < 4 {
			return nil, diag.Errorf(name, n, "expected name:password:uid:gid:..., got %q", line)
		}
		uid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			return nil, diag.Errorf(name, n, "user %q: uid %q is not a number", f[0], f[2])
		}
		gid, err := strconv.ParseUint(f[3], 10, 32)
		if err != nil {
			return nil, diag.Errorf(name, n, "user %q: gid %q is not a number", f[0], f[3])
		}
		out = append(out, dbEntry{name: f[0], id: uint32(uid), gid: uint32(gid)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// loadDB reads a database file; a missing file is an empty database. It
// must be a regular file: a FIFO planted at /etc/passwd by an earlier step
// fails at once instead of blocking the build.
func loadDB(path string, isGroup bool) ([]dbEntry, error) {
	f, _, err := regfile.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readDB(path, f, isGroup)
}

// parseID returns s as an id if it is a decimal number.
func parseID(s string) (uint32, bool) {
	v, err := strconv.ParseUint(s, 10, 32)
	return uint32(v), err == nil
}

// resolveUser turns a Containerfile USER value ("", "uid", "uid:gid",
// "name", "name:group", or mixes) into ids, the way container runtimes do:
//   - "" means uid 0;
//   - a user name must exist in passwd; a numeric uid need not (gid is then 0);
//   - without an explicit group, the gid is the passwd entry's primary group
//     and the supplementary groups are every group listing the user by name;
//   - with an explicit group (name, which must exist, or number, which need
//     not), there are no supplementary groups.
func resolveUser(spec string, passwd, group []dbEntry) (Identity, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		if hasGroup {
			return Identity{}, fmt.Errorf("USER %q: empty user name before ':'", spec)
		}
		userPart = "0"
	}
	if hasGroup && groupPart == "" {
		return Identity{}, fmt.Errorf("USER %q: empty group name after ':'", spec)
	}
	var id Identity
	matched := ""
	uid, numeric := parseID(userPart)
	found := false
	for _, e := range passwd {
		if (numeric && e.id == uid) || (!numeric && e.name == userPart) {
			id.UID, id.GID, matched, found = e.id, e.gid, e.name, true
			break
		}
	}
	if !found {
		if !numeric {
			return Identity{}, fmt.Errorf("USER %q: no user %q in /etc/passwd of the root", spec, userPart)
		}
		id.UID, id.GID = uid, 0
	}
	if hasGroup {
		gid, gnum := parseID(groupPart)
		for _, g := range group {
			if (gnum && g.id == gid) || (!gnum && g.name == groupPart) {
				id.GID = g.id
				return id, nil
			}
		}
		if !gnum {
			return Identity{}, fmt.Errorf("USER %q: no group %q in /etc/group of the root", spec, groupPart)
		}
		id.GID = gid
		return id, nil
	}
	if matched == "" {
		return id, nil
	}
	seen := map[uint32]bool{}
	for _, g := range group {
		for _, m := range g.members {
			if m == matched && !seen[g.id] {
				seen[g.id] = true
				id.Groups = append(id.Groups, g.id)
			}
		}
	}
	return id, nil
}
