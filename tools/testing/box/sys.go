package box

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	register(envMain, "env")
	register(printenvMain, "printenv")
	register(sleepMain, "sleep")
	register(unameMain, "uname")
	register(idMain, "id")
	register(whoamiMain, "whoami")
	register(hostnameMain, "hostname")
	register(dateMain, "date")
	register(nprocMain, "nproc")
	register(whichMain, "which")
}

// envMain is env [-i] [-u NAME]... [-0] [NAME=VALUE]... [COMMAND [ARG]...].
func envMain(ctx context.Context, p *Proc, args []string) int {
	a := args[1:]
	clear := false
	if len(a) > 0 && a[0] == "-" {
		clear, a = true, a[1:]
	}
	f, ops, err := getopt(a, "iu:0", "ignore-environment=i", "unset=u", "null=0")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	env := p.Env
	if clear || f.has("i") {
		env = nil
	}
	set := func(name, kv string) {
		out := make([]string, 0, len(env)+1)
		for _, e := range env {
			if k, _, _ := strings.Cut(e, "="); k != name {
				out = append(out, e)
			}
		}
		if kv != "" {
			out = append(out, kv)
		}
		env = out
	}
	for _, u := range f.all("u") {
		set(u, "")
	}
	for len(ops) > 0 && strings.Contains(ops[0], "=") {
		k, _, _ := strings.Cut(ops[0], "=")
		set(k, ops[0])
		ops = ops[1:]
	}
	if len(ops) == 0 {
		end := "\n"
		if f.has("0") {
			end = "\x00"
		}
		for _, e := range env {
			fmt.Fprint(p.Stdout, e+end)
		}
		return 0
	}
	q := *p
	q.Env = env
	if q.Env == nil {
		q.Env = []string{}
	}
	return Run(ctx, &q, ops)
}

func printenvMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "0", "null=0")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	end := "\n"
	if f.has("0") {
		end = "\x00"
	}
	if len(ops) == 0 {
		for _, e := range p.Env {
			fmt.Fprint(p.Stdout, e+end)
		}
		return 0
	}
	status := 0
	for _, n := range ops {
		if v, ok := p.LookupEnv(n); ok {
			fmt.Fprint(p.Stdout, v+end)
		} else {
			status = 1
		}
	}
	return status
}

// sleepMain is sleep NUMBER[smhd]...; the durations add up.
func sleepMain(ctx context.Context, p *Proc, args []string) int {
	if len(args) < 2 {
		return usageErr(p, args[0], errors.New("missing operand"))
	}
	var total time.Duration
	for _, a := range args[1:] {
		unit := time.Second
		num := a
		if n := len(a); n > 0 {
			switch a[n-1] {
			case 's':
				num = a[:n-1]
			case 'm':
				unit, num = time.Minute, a[:n-1]
			case 'h':
				unit, num = time.Hour, a[:n-1]
			case 'd':
				unit, num = 24*time.Hour, a[:n-1]
			}
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || v < 0 {
			return usageErr(p, args[0], fmt.Errorf("invalid time interval %q", a))
		}
		total += time.Duration(v * float64(unit))
	}
	t := time.NewTimer(total)
	defer t.Stop()
	select {
	case <-t.C:
		return 0
	case <-ctx.Done():
		return 130
	}
}

func unameMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "asnrvmpio", "all=a", "kernel-name=s", "nodename=n",
		"kernel-release=r", "kernel-version=v", "machine=m", "processor=p",
		"hardware-platform=i", "operating-system=o")
	if err == nil && len(ops) > 0 {
		err = fmt.Errorf("extra operand %s", ops[0])
	}
	if err != nil {
		return usageErr(p, args[0], err)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		p.errf(args[0], "%v", err)
		return 1
	}
	all := f.has("a")
	fields := []struct {
		flag, val string
	}{
		{"s", unix.ByteSliceToString(u.Sysname[:])},
		{"n", unix.ByteSliceToString(u.Nodename[:])},
		{"r", unix.ByteSliceToString(u.Release[:])},
		{"v", unix.ByteSliceToString(u.Version[:])},
		{"m", unix.ByteSliceToString(u.Machine[:])},
		{"p", "unknown"},
		{"i", "unknown"},
		{"o", "Linux"},
	}
	var out []string
	for _, fl := range fields {
		if f.has(fl.flag) || (all && fl.val != "unknown") {
			out = append(out, fl.val)
		}
	}
	if len(out) == 0 {
		out = []string{fields[0].val}
	}
	fmt.Fprintln(p.Stdout, strings.Join(out, " "))
	return 0
}

// idMain is id [-u|-g|-G] [-n] [-r] [USER].
func idMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "ugGnr", "user=u", "group=g", "groups=G", "name=n", "real=r")
	if err == nil && len(ops) > 1 {
		err = fmt.Errorf("extra operand %s", ops[1])
	}
	if err != nil {
		return usageErr(p, args[0], err)
	}
	uid, gid := os.Geteuid(), os.Getegid()
	if f.has("r") {
		uid, gid = os.Getuid(), os.Getgid()
	}
	groups, _ := os.Getgroups()
	if len(ops) == 1 {
		var ok bool
		if uid, gid, groups, ok = lookupUser(ops[0]); !ok {
			p.errf(args[0], "%s: no such user", ops[0])
			return 1
		}
	}
	if len(groups) == 0 || groups[0] != gid {
		groups = append([]int{gid}, groups...)
	}
	show := func(id int, name func(int) string) string {
		if f.has("n") {
			return name(id)
		}
		return strconv.Itoa(id)
	}
	switch {
	case f.has("u"):
		fmt.Fprintln(p.Stdout, show(uid, userName))
	case f.has("g"):
		fmt.Fprintln(p.Stdout, show(gid, groupName))
	case f.has("G"):
		var out []string
		for _, g := range groups {
			out = append(out, show(g, groupName))
		}
		fmt.Fprintln(p.Stdout, strings.Join(out, " "))
	default:
		var gs []string
		for _, g := range groups {
			gs = append(gs, fmt.Sprintf("%d(%s)", g, groupName(g)))
		}
		fmt.Fprintf(p.Stdout, "uid=%d(%s) gid=%d(%s) groups=%s\n", uid, userName(uid), gid, groupName(gid), strings.Join(gs, ","))
	}
	return 0
}

func whoamiMain(_ context.Context, p *Proc, args []string) int {
	fmt.Fprintln(p.Stdout, userName(os.Geteuid()))
	return 0
}

func hostnameMain(_ context.Context, p *Proc, args []string) int {
	if len(args) > 1 {
		return usageErr(p, args[0], errors.New("setting the host name is not supported"))
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		p.errf(args[0], "%v", err)
		return 1
	}
	fmt.Fprintln(p.Stdout, unix.ByteSliceToString(u.Nodename[:]))
	return 0
}

func nprocMain(_ context.Context, p *Proc, args []string) int {
	f, _, err := getopt(args[1:], "", "all", "ignore:")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	n := runtime.NumCPU()
	if s, ok := f.get("ignore"); ok {
		k, err := strconv.Atoi(s)
		if err != nil {
			return usageErr(p, args[0], fmt.Errorf("invalid number %q", s))
		}
		n = max(1, n-k)
	}
	fmt.Fprintln(p.Stdout, n)
	return 0
}

func whichMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "as")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	status := 0
	for _, name := range ops {
		found := false
		var cands []string
		if strings.Contains(name, "/") {
			cands = []string{name}
		} else {
			for _, d := range filepath.SplitList(p.Getenv("PATH")) {
				if d == "" {
					d = "."
				}
				cands = append(cands, filepath.Join(d, name))
			}
		}
		for _, c := range cands {
			fi, err := os.Stat(p.Abs(c))
			if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				continue
			}
			found = true
			if !f.has("s") {
				fmt.Fprintln(p.Stdout, c)
			}
			if !f.has("a") {
				break
			}
		}
		if !found {
			status = 1
		}
	}
	return status
}

// dateMain is date [-u] [-d DATE | -r FILE] [+FORMAT]. Without -d or -r
// the time is SOURCE_DATE_EPOCH when that is set, so builds stay
// reproducible.
func dateMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "ud:r:RI", "utc=u", "universal=u", "date=d", "reference=r",
		"rfc-email=R", "iso-8601=I")
	if err == nil && len(ops) > 1 {
		err = fmt.Errorf("extra operand %s", ops[1])
	}
	if err == nil && len(ops) == 1 && !strings.HasPrefix(ops[0], "+") {
		err = errors.New("setting the date is not supported")
	}
	if err != nil {
		return usageErr(p, args[0], err)
	}
	loc := p.location()
	if f.has("u") {
		loc = time.UTC
	}
	now := time.Now()
	if s := p.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			now = time.Unix(n, 0)
		}
	}
	if d, ok := f.get("d"); ok {
		if now, err = parseDate(d, loc); err != nil {
			return usageErr(p, args[0], err)
		}
	}
	if r, ok := f.get("r"); ok {
		fi, err := os.Stat(p.Abs(r))
		if err != nil {
			p.errf(args[0], "%v", err)
			return 1
		}
		now = fi.ModTime()
	}
	format := "%a %b %e %H:%M:%S %Z %Y"
	switch {
	case len(ops) == 1:
		format = ops[0][1:]
	case f.has("R"):
		format = "%a, %d %b %Y %H:%M:%S %z"
	case f.has("I"):
		format = "%Y-%m-%d"
	}
	fmt.Fprintln(p.Stdout, strftime(format, now.In(loc)))
	return 0
}

// location is the time zone named by p's TZ, else the local one.
func (p *Proc) location() *time.Location {
	tz, ok := p.LookupEnv("TZ")
	if !ok {
		return time.Local
	}
	if l, err := time.LoadLocation(strings.TrimPrefix(tz, ":")); err == nil {
		return l
	}
	return time.UTC
}

func parseDate(s string, loc *time.Location) (time.Time, error) {
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("invalid date %q", s)
		}
		return time.Unix(n, 0), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date %q", s)
}

// strftime formats t with the common C conversions.
func strftime(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'C':
			fmt.Fprintf(&b, "%02d", t.Year()/100)
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'k':
			fmt.Fprintf(&b, "%2d", t.Hour())
		case 'I':
			fmt.Fprintf(&b, "%02d", (t.Hour()+11)%12+1)
		case 'l':
			fmt.Fprintf(&b, "%2d", (t.Hour()+11)%12+1)
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'N':
			fmt.Fprintf(&b, "%09d", t.Nanosecond())
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'b', 'h':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'u':
			fmt.Fprintf(&b, "%d", (int(t.Weekday())+6)%7+1)
		case 'w':
			fmt.Fprintf(&b, "%d", int(t.Weekday()))
		case 's':
			fmt.Fprintf(&b, "%d", t.Unix())
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'R':
			b.WriteString(t.Format("15:04"))
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}
