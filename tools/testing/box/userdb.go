package box

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The user database is read from /etc/passwd and /etc/group directly, not
// through os/user, which would link the C library whenever cgo is on and
// so make the binary dynamic.

// dbEntry is one line of /etc/passwd (name, id, group id) or /etc/group
// (name, id, members).
type dbEntry struct {
	name    string
	id      int
	gid     int
	members []string
}

// dbPasswd and dbGroup are the files read; tests point them elsewhere.
var (
	dbPasswd = "/etc/passwd"
	dbGroup  = "/etc/group"
)

func readDB(path string, isUser bool) []dbEntry {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []dbEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 4 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		id, err := strconv.Atoi(fields[2])
		if err != nil {
			continue
		}
		e := dbEntry{name: fields[0], id: id}
		if isUser {
			e.gid, _ = strconv.Atoi(fields[3])
		} else if fields[3] != "" {
			e.members = strings.Split(fields[3], ",")
		}
		out = append(out, e)
	}
	return out
}

func dbFind(isUser bool, match func(dbEntry) bool) (dbEntry, bool) {
	path := dbGroup
	if isUser {
		path = dbPasswd
	}
	for _, e := range readDB(path, isUser) {
		if match(e) {
			return e, true
		}
	}
	return dbEntry{}, false
}

// lookupID resolves a user (or group) given by number or name.
func lookupID(s string, isUser bool) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, nil
	}
	if e, ok := dbFind(isUser, func(e dbEntry) bool { return e.name == s }); ok {
		return e.id, nil
	}
	if isUser {
		return -1, fmt.Errorf("invalid user: %q", s)
	}
	return -1, fmt.Errorf("invalid group: %q", s)
}

func idName(id int, isUser bool) string {
	if e, ok := dbFind(isUser, func(e dbEntry) bool { return e.id == id }); ok {
		return e.name
	}
	return strconv.Itoa(id)
}

func userName(uid int) string  { return idName(uid, true) }
func groupName(gid int) string { return idName(gid, false) }

// lookupUser finds a user by name or number: uid, primary gid and the
// groups listing it as a member.
func lookupUser(s string) (uid, gid int, groups []int, ok bool) {
	n, numErr := strconv.Atoi(s)
	e, found := dbFind(true, func(e dbEntry) bool { return e.name == s || numErr == nil && e.id == n })
	if !found {
		return 0, 0, nil, false
	}
	for _, g := range readDB(dbGroup, false) {
		for _, m := range g.members {
			if m == e.name && g.id != e.gid {
				groups = append(groups, g.id)
			}
		}
	}
	return e.id, e.gid, groups, true
}
