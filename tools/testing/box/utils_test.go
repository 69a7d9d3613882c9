package box

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileUtilities(t *testing.T) {
	runCases(t, []scriptCase{
		{name: "cat files and stdin", script: `echo a > x; echo c > z; echo b | cat x - z`, out: "a\nb\nc\n"},
		{name: "cat missing goes on", script: `echo a > x; cat nope x`, out: "a\n", code: 1, errHas: "nope"},
		{name: "mkdir -p and failure", script: `mkdir -p a/b/c && ls a/b; mkdir a`, out: "c\n", code: 1},
		{name: "mkdir -m", script: `mkdir -m 700 d; ls -ld d | cut -c1-10`, out: "drwx------\n"},
		{name: "rm -rf and -f", script: `mkdir -p d/e; touch d/e/f; rm -rf d; rm -f nope; ls`, out: ""},
		{name: "rm missing fails", script: `rm nope`, code: 1},
		{name: "mv rename and into dir", script: `echo 1 > a; mkdir d; mv -f a b; mv b d; ls d; ls`, out: "b\nd\n"},
		{name: "touch creates", script: `touch a b; ls`, out: "a\nb\n"},
		{name: "touch dates", script: `export TZ=UTC; touch -d @86400 a; date -r a +%F; touch -d '2001-02-03 04:05:06' -m b; date -r b '+%F %T'; touch -t 200102030405.06 c; date -r c +%Y%m%d%H%M%S; touch -r a d; date -r d +%s`,
			out: "1970-01-02\n2001-02-03 04:05:06\n20010203040506\n86400\n"},
		{name: "touch -h and -c", script: `ln -s missing l; touch -h -d @0 l && echo ok; touch -c nope; ls`, out: "ok\nl\n"},
		{name: "chmod octal and symbolic", script: `touch f; chmod 640 f; ls -l f | cut -c1-10; chmod u+x,o+r f; ls -l f | cut -c1-10`, out: "-rw-r-----\n-rwxr--r--\n"},
		{name: "chmod dash modes", script: `touch f; chmod 755 f; chmod -x f; chmod g+w,+t f; ls -l f | cut -c1-10; chmod -- -w f; ls -l f | cut -c1-10`, out: "-rw-rw-r-T\n-r--rw-r-T\n"},
		{name: "chmod errors", script: `chmod 999 f`, code: 1, errHas: "invalid mode"},
		{name: "chmod -R", script: `mkdir -p d/e; touch d/e/f; chmod -R 700 d; ls -l d/e | cut -c1-10`, out: "-rwx------\n"},
		{name: "cp file and into dir", script: `echo x > a; mkdir d; cp a b; cp a b d; cat b d/a d/b`, out: "x\nx\nx\n"},
		{name: "cp dir needs -r", script: `mkdir d; cp d e`, code: 1, errHas: "omitting directory"},
		{name: "cp -r into new and existing", script: `mkdir -p s/t; echo 1 > s/t/f; cp -r s n; mkdir e; cp -R s e; cat n/t/f e/s/t/f`, out: "1\n1\n"},
		{name: "cp -a keeps links and modes", script: `mkdir s; echo 1 > s/f; chmod 751 s/f; ln -s f s/l; cp -a s d; readlink d/l; ls -l d/f | cut -c1-10`, out: "f\n-rwxr-x--x\n"},
		{name: "cp follows links without -R", script: `echo 1 > f; ln -s f l; cp l c; ls -l c | cut -c1`, out: "-\n"},
		{name: "cp to many needs dir", script: `touch a b; cp a b c`, code: 1, errHas: "not a directory"},
		{name: "cp into itself", script: `mkdir d; cp -r d d/e`, code: 1, errHas: "into itself"},
		{name: "ln -s and -sf", script: `ln -s t1 l; ln -sf t2 l; readlink l; ln -s x y z 2>/dev/null || echo fail`, out: "t2\nfail\n"},
		{name: "ln hard", script: `echo 1 > a; ln a b; echo 2 >> b; cat a`, out: "1\n2\n"},
		{name: "ln into dir and relative", script: `mkdir d; touch f; ln -s ../f d; ln -sr f d/r; readlink d/f d/r`, out: "../f\n../f\n"},
		{name: "readlink -f and realpath", script: `mkdir -p a/b; ln -s a/b l; touch a/b/f; readlink -f l/f | sed "s,$PWD,.,"; realpath l/../b | sed "s,$PWD,.,"; realpath nope/x 2>/dev/null || echo noexist; realpath -m l/x/../y | sed "s,$PWD,.,"`,
			out: "./a/b/f\n./a/b\nnoexist\n./a/b/y\n"},
		{name: "readlink not a link", script: `touch f; readlink f`, code: 1},
		{name: "realpath relative-to", script: `mkdir -p a/b c; realpath --relative-to=c a/b`, out: "../a/b\n"},
		{name: "basename dirname", script: `basename /a/b/; basename /a/b.tar.gz .gz; basename -a x/y z/w; basename /; dirname /a/b/ a //; dirname x`,
			out: "b\nb.tar\ny\nw\n/\n/a\n.\n/\n.\n"},
		{name: "install", script: `echo x > src; install -D -m 0640 src out/dir/dst; ls -l out/dir/dst | cut -c1-10; install -d -m 750 a/b; ls -ld a/b | cut -c1-10; install src a/b; ls -l a/b/src | cut -c1-10`,
			out: "-rw-r-----\ndrwxr-x---\n-rwxr-xr-x\n"},
		{name: "install -t", script: `touch a b; mkdir d; install -m 644 -t d a b; ls d`, out: "a\nb\n"},
		{name: "rmdir", script: `mkdir -p a/b/c; rmdir -p a/b/c; ls; mkdir d; touch d/f; rmdir d`, out: "", code: 1, errHas: "not empty"},
		{name: "mktemp", script: `d=$(mktemp -d -p .); test -d "$d" && echo dir; f=$(mktemp x.XXXXXX); test -f "$f" && echo "${f%??????}"; TMPDIR=$PWD mktemp | grep -c "^$PWD/tmp\."`,
			out: "dir\nx.\n1\n"},
		{name: "mktemp needs X", script: `mktemp foo`, code: 1, errHas: "X"},
		{name: "ls", script: `mkdir d; touch d/b d/a d/.h; ls d; ls -a d; ls -A d; ls -d d; ls -F d/../d | head -1`,
			out: "a\nb\n.\n..\n.h\na\nb\n.h\na\nb\nd\na\n"},
		{name: "ls missing", script: `ls nope`, code: 2},
		{name: "ls -l link", script: `ln -s tgt l; ls -l l | sed 's/.* l/l/'`, out: "l -> tgt\n"},
		{name: "chown to self", script: `touch f; chown "$(id -u):$(id -g)" f && echo ok`, out: "ok\n"},
		{name: "chown bad user", script: `touch f; chown no-such-user-here f`, code: 1, errHas: "invalid user"},
	})
}

func TestTextUtilities(t *testing.T) {
	lines := "l1\nl2\nl3\nl4\nl5\n"
	runCases(t, []scriptCase{
		{name: "head", script: `head -n 2; `, stdin: lines, out: "l1\nl2\n"},
		{name: "head legacy and -c", script: `head -3 | head -c 4; echo`, stdin: lines, out: "l1\nl\n"},
		{name: "head negative", script: `head -n -3`, stdin: lines, out: "l1\nl2\n"},
		{name: "head two files", script: `echo a > x; echo b > y; head x y`, out: "==> x <==\na\n\n==> y <==\nb\n"},
		{name: "tail", script: `tail -n 2`, stdin: lines, out: "l4\nl5\n"},
		{name: "tail from", script: `tail -n +4`, stdin: lines, out: "l4\nl5\n"},
		{name: "tail -c", script: `tail -c 3`, stdin: lines, out: "l5\n"},
		{name: "wc", script: `wc -l; printf 'a b\nc' | wc; printf 'é' | wc -m`, stdin: lines, out: "5\n      1       3       5\n1\n"},
		{name: "wc file", script: `printf 'a\nb\n' > f; wc -l f`, out: "2 f\n"},
		{name: "sort", script: `sort`, stdin: "b\nB\na\n10\n9\n", out: "10\n9\nB\na\nb\n"},
		{name: "sort -n -r -u", script: `sort -nru`, stdin: "10\n9\n10\n100\n", out: "100\n10\n9\n"},
		{name: "sort -k -t", script: `sort -t: -k2,2n`, stdin: "a:3\nb:1\nc:2\n", out: "b:1\nc:2\na:3\n"},
		{name: "sort -k blanks", script: `sort -k2; printf 'x  b\ny a\n' | sort -b -k2`, stdin: "x  b\ny a\n", out: "x  b\ny a\ny a\nx  b\n"},
		{name: "sort -o", script: `sort -o out; cat out`, stdin: "b\na\n", out: "a\nb\n"},
		{name: "sort -c", script: `sort -c`, stdin: "b\na\n", code: 1, errHas: "disorder"},
		{name: "uniq", script: `uniq -c`, stdin: "a\na\nb\na\n", out: "      2 a\n      1 b\n      1 a\n"},
		{name: "uniq -d -u", script: `printf 'a\na\nb\n' | uniq -d; printf 'a\na\nb\n' | uniq -u`, out: "a\nb\n"},
		{name: "cut fields", script: `cut -d: -f1,3`, stdin: "a:b:c:d\nnodelim\n", out: "a:c\nnodelim\n"},
		{name: "cut -s and ranges", script: `cut -d, -s -f2-`, stdin: "a,b,c\nnone\n", out: "b,c\n"},
		{name: "cut chars", script: `cut -c2-3,5`, stdin: "abcdef\n", out: "bce\n"},
		{name: "tr ranges classes", script: `tr '[:lower:]' '[:upper:]'; echo 'a-b' | tr -d -- '-'; echo 'aaabbb' | tr -s ab; echo hello | tr -c 'l\n' .`, stdin: "abc\n", out: "ABC\nab\nab\n..ll.\n"},
		{name: "tr newline escape", script: `tr ' ' '\n'`, stdin: "a b", out: "a\nb"},
		{name: "tee", script: `tee f1 > f2; tee -a f1 < f2 > /dev/null; cat f1`, stdin: "x\n", out: "x\nx\n"},
		{name: "cmp", script: `echo ab > a; echo ab > b; echo ac > c; cmp a b && echo same; cmp a c; echo $?; cmp -s a c; echo $?`, out: "same\na c differ: byte 2, line 1\n1\n1\n"},
		{name: "cmp eof", script: `printf ab > a; printf a > b; cmp a b`, code: 1, errHas: "EOF on b"},
		{name: "seq", script: `seq 3; seq -s, 2 2 8; seq 3 -1 1 | tr '\n' ' '; echo; seq -w 8 10`, out: "1\n2\n3\n2,4,6,8\n3 2 1 \n08\n09\n10\n"},
		{name: "seq float", script: `seq 0 0.5 1`, out: "0.0\n0.5\n1.0\n"},
	})
}

func TestGrepSed(t *testing.T) {
	in := "apple\nBanana\ncherry pie\nbanana split\n"
	runCases(t, []scriptCase{
		{name: "grep basic", script: `grep an`, stdin: in, out: "Banana\nbanana split\n"},
		{name: "grep -i -c", script: `grep -ic BANANA`, stdin: in, out: "2\n"},
		{name: "grep -v -n", script: `grep -vn an`, stdin: in, out: "1:apple\n3:cherry pie\n"},
		{name: "grep no match", script: `grep zzz`, stdin: in, code: 1},
		{name: "grep -q", script: `grep -q apple && echo found`, stdin: in, out: "found\n"},
		{name: "grep bad file", script: `grep x nope`, code: 2, errHas: "nope"},
		{name: "grep -E alternation", script: `grep -E '^(apple|cherry)'`, stdin: in, out: "apple\ncherry pie\n"},
		{name: "grep BRE groups", script: `grep 'b\(an\)\{2\}a'`, stdin: in, out: "banana split\n"},
		{name: "grep BRE literal plus", script: `printf 'a+b\naab\n' | grep 'a+b'`, out: "a+b\n"},
		{name: "grep -F", script: `printf 'a.c\nabc\n' | grep -F a.c`, out: "a.c\n"},
		{name: "grep -x -w", script: `printf 'pie\ncherry pie\npies\n' | grep -x pie; printf 'cherry pie\npies\n' | grep -w pie`, out: "pie\ncherry pie\n"},
		{name: "grep -o", script: `echo a1b22c333 | grep -oE '[0-9]+'`, out: "1\n22\n333\n"},
		{name: "grep -e -e", script: `grep -e apple -e pie`, stdin: in, out: "apple\ncherry pie\n"},
		{name: "grep -l -r", script: `mkdir -p d/e; echo hit > d/e/f; echo miss > d/g; grep -rl hit d; grep -r hit .`, out: "d/e/f\n./d/e/f:hit\n"},
		{name: "grep files prefix", script: `echo x > a; echo x > b; grep x a b; grep -h x a b`, out: "a:x\nb:x\nx\nx\n"},
		{name: "grep bracket", script: `printf 'a\\b\nab\n' | grep '[\]'`, out: "a\\b\n"},
		{name: "sed s", script: `sed 's/a/X/'`, stdin: "banana\n", out: "bXnana\n"},
		{name: "sed s g and nth", script: `sed 's/a/X/g'; echo banana | sed 's/a/X/2'`, stdin: "banana\n", out: "bXnXnX\nbanXna\n"},
		{name: "sed groups and &", script: `sed 's/\(b\)\(a\)/[\2\1]&/'`, stdin: "banana\n", out: "[ab]banana\n"},
		{name: "sed -E and delimiter", script: `sed -E 's|(/usr)+/lib|\1/LIB|'`, stdin: "/usr/lib/x\n", out: "/usr/LIB/x\n"},
		{name: "sed -n p and addresses", script: `sed -n '2p;$p'`, stdin: "1\n2\n3\n", out: "2\n3\n"},
		{name: "sed d range regex", script: `sed '/start/,/end/d'`, stdin: "a\nstart\nb\nend\nc\n", out: "a\nc\n"},
		{name: "sed numeric range and !", script: `sed '2,3!d'`, stdin: "1\n2\n3\n4\n", out: "2\n3\n"},
		{name: "sed q", script: `sed 2q`, stdin: "1\n2\n3\n", out: "1\n2\n"},
		{name: "sed y and =", script: `sed -n 'y/abc/xyz/;=;p'`, stdin: "cab\n", out: "1\nzxy\n"},
		{name: "sed escapes in regex", script: `printf 'a\tb.c\n' | sed 's/\t/ /; s/\./!/'`, out: "a b!c\n"},
		{name: "sed -e -e", script: `sed -e s/a/b/ -e s/b/c/`, stdin: "a\n", out: "c\n"},
		{name: "sed keeps missing newline", script: `printf 'a\nb' | sed s/b/c/`, out: "a\nc"},
		{name: "sed -i", script: `printf 'x=1\ny=2\n' > f; chmod 640 f; sed -i 's/=.*/=0/' f; cat f; ls -l f | cut -c1-10`, out: "x=0\ny=0\n-rw-r-----\n"},
		{name: "sed -i backup", script: `echo a > f; sed -i.bak s/a/b/ f; cat f f.bak`, out: "b\na\n"},
		{name: "sed multiple files one stream", script: `echo 1 > a; echo 2 > b; sed -n '$p' a b`, out: "2\n"},
		{name: "sed bad script", script: `sed 's/a/b'`, code: 1, errHas: "unterminated"},
		{name: "sed unsupported", script: `sed 'a\'`, code: 1, errHas: "unsupported command"},
	})
}

func TestFindXargs(t *testing.T) {
	setup := `mkdir -p d/sub/deep d/other; touch d/a.c d/b.h d/sub/c.c d/sub/deep/e.c; ln -s a.c d/link; `
	runCases(t, []scriptCase{
		{name: "find all", script: setup + `find d`, out: "d\nd/a.c\nd/b.h\nd/link\nd/other\nd/sub\nd/sub/c.c\nd/sub/deep\nd/sub/deep/e.c\n"},
		{name: "find dot prefix", script: setup + `cd d/sub; find .`, out: ".\n./c.c\n./deep\n./deep/e.c\n"},
		{name: "find -name -type", script: setup + `find d -type f -name '*.c'`, out: "d/a.c\nd/sub/c.c\nd/sub/deep/e.c\n"},
		{name: "find -type l and d", script: setup + `find d -type l; find d -mindepth 1 -maxdepth 1 -type d`, out: "d/link\nd/other\nd/sub\n"},
		{name: "find -o and !", script: setup + `find d -maxdepth 1 \( -name '*.h' -o -name link \); find d -maxdepth 1 ! -type d -a ! -name '*.c'`, out: "d/b.h\nd/link\nd/b.h\nd/link\n"},
		{name: "find -path and -prune", script: setup + `find d -path d/sub -prune -o -name '*.c' -print`, out: "d/a.c\n"},
		{name: "find -empty", script: setup + `find d -empty -type d`, out: "d/other\n"},
		{name: "find -exec ;", script: setup + `find d/sub -name '*.c' -exec basename {} .c \;`, out: "c\ne\n"},
		{name: "find -exec +", script: setup + `find d -name '*.c' -exec echo n: {} +`, out: "n: d/a.c d/sub/c.c d/sub/deep/e.c\n"},
		{name: "find -exec status", script: setup + `find d -maxdepth 1 -name '*.c' -exec false \; -print; echo done`, out: "done\n"},
		{name: "find -print0 with xargs -0", script: setup + `find d -name '*.h' -print0 | xargs -0 echo got`, out: "got d/b.h\n"},
		{name: "find -delete", script: setup + `find d -name '*.c' -delete; find d -type f`, out: "d/b.h\n"},
		{name: "find -perm -size", script: `touch a b; chmod 755 a; printf 12345 > b; find . -perm -100 -type f; find . -type f -size +4c`, out: "./a\n./b\n"},
		{name: "find -newer", script: `touch -d 2000-01-01T00:00:00Z old; touch new; find . -newer old -type f`, out: "./new\n"},
		{name: "find missing path", script: `find nope`, code: 1, errHas: "nope"},
		{name: "find bad predicate", script: `find . -bogus`, code: 1, errHas: "unknown predicate"},
		{name: "find -quit", script: setup + `find d -name '*.c' -print -quit`, out: "d/a.c\n"},
		{name: "xargs default echo", script: `printf 'a b\nc\n' | xargs`, out: "a b c\n"},
		{name: "xargs -n", script: `printf '1 2 3\n' | xargs -n 2 echo x`, out: "x 1 2\nx 3\n"},
		{name: "xargs -I", script: `printf 'a\nb c\n' | xargs -I{} echo '<{}>'`, out: "<a>\n<b c>\n"},
		{name: "xargs quotes", script: `echo "'a b' \"c d\" e\\ f" | xargs -n1 echo`, out: "a b\nc d\ne f\n"},
		{name: "xargs -r empty", script: `printf '' | xargs -r echo x; printf '' | xargs echo y`, out: "y\n"},
		{name: "xargs failure status", script: `echo a | xargs false`, code: 123},
		{name: "xargs not found", script: `echo a | xargs no-such-thing`, code: 127},
		{name: "xargs runs in shell cwd", script: `mkdir d; cd d; echo f | xargs touch; ls`, out: "f\n"},
	})
}

func TestSystemUtilities(t *testing.T) {
	runCases(t, []scriptCase{
		{name: "env -i and command", script: `env -i A=1 B=2 env; env -u HOME printenv HOME || echo gone`, out: "A=1\nB=2\ngone\n"},
		{name: "env missing command", script: `env no-such`, code: 127},
		{name: "true false", script: `true && ! false && echo ok`, out: "ok\n"},
		{name: "sleep", script: `sleep 0.01 && sleep 0 0.01s && echo slept`, out: "slept\n"},
		{name: "sleep bad", script: `sleep x`, code: 1},
		{name: "date SOURCE_DATE_EPOCH", script: `SOURCE_DATE_EPOCH=86400 date -u +%Y-%m-%dT%H:%M:%S`, out: "1970-01-02T00:00:00\n"},
		{name: "date -d formats", script: `date -u -d @1700000000 '+%s %F %T %a %b %e %j %y %%'; date -u -d 2020-02-29 +%A`, out: "1700000000 2023-11-14 22:13:20 Tue Nov 14 318 23 %\nSaturday\n"},
		{name: "date default format", script: `SOURCE_DATE_EPOCH=0 date -u`, out: "Thu Jan  1 00:00:00 UTC 1970\n"},
		{name: "date bad", script: `date -d yesterday`, code: 1},
		{name: "uname", script: `uname; uname -s -m | wc -w`, out: "Linux\n2\n"},
		{name: "id numbers", script: `test "$(id -u)" -ge 0 && test "$(id -g)" -ge 0 && echo ok`, out: "ok\n"},
		{name: "nproc", script: `test "$(nproc)" -ge 1 && echo ok`, out: "ok\n"},
		{name: "hostname", script: `hostname | grep -c .`, out: "1\n"},
		{name: "which", script: `mkdir .bin; touch .bin/tool; chmod +x .bin/tool; which tool | sed "s,$PWD/,,"; which nope || echo none`, out: ".bin/tool\nnone\n"},
		{name: "pwd utility", script: `mkdir d; cd d; env pwd | sed 's,.*/,,'`, out: "d\n"},
		{name: "printenv", script: `FOO=1 printenv FOO; printenv NOPE`, out: "1\n", code: 1},
	})
}

func TestUserDatabase(t *testing.T) {
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	group := filepath.Join(dir, "group")
	os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/sh\nbuild:x:1000:100::/home/build:/bin/sh\n"), 0o644)
	os.WriteFile(group, []byte("root:x:0:\nusers:x:100:\nwheel:x:10:build,other\n"), 0o644)
	oldP, oldG := dbPasswd, dbGroup
	dbPasswd, dbGroup = passwd, group
	t.Cleanup(func() { dbPasswd, dbGroup = oldP, oldG })
	cases := []struct {
		script, out string
		code        int
	}{
		{"id build", "uid=1000(build) gid=100(users) groups=100(users),10(wheel)\n", 0},
		{"id -un 0; id -gn root; id -G build", "root\nroot\n100 10\n", 0},
		{"id nobody-here", "", 1},
	}
	for _, tc := range cases {
		r := sh(t, dir, "", tc.script)
		if r.out != tc.out || r.code != tc.code {
			t.Errorf("%s: got %q status %d, want %q status %d (%s)", tc.script, r.out, r.code, tc.out, tc.code, r.err)
		}
	}
	for _, tc := range []struct {
		name   string
		isUser bool
		want   int
	}{{"build", true, 1000}, {"wheel", false, 10}, {"42", true, 42}, {"nobody", true, -1}} {
		got, err := lookupID(tc.name, tc.isUser)
		if got != tc.want || (tc.want < 0) != (err != nil) {
			t.Errorf("lookupID(%q) = %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
}

func TestChecksums(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"a.txt": "alpha\n", "b.bin": "beta"}
	var sums strings.Builder
	for _, n := range []string{"a.txt", "b.bin"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(files[n]), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256([]byte(files[n])), n)
	}
	r := sh(t, dir, "", "sha256sum a.txt b.bin")
	if r.out != sums.String() || r.code != 0 {
		t.Fatalf("sha256sum printed %q status %d, want %q", r.out, r.code, sums.String())
	}
	stdinSum := fmt.Sprintf("%x  -\n", sha256.Sum256([]byte("alpha\n")))
	if r := sh(t, dir, "alpha\n", "sha256sum"); r.out != stdinSum {
		t.Errorf("stdin: got %q want %q", r.out, stdinSum)
	}
	os.WriteFile(filepath.Join(dir, "SUMS"), []byte(sums.String()), 0o644)
	bad := strings.Replace(sums.String(), "  b.bin", " *b.bin", 1) // binary marker is accepted
	bad = strings.Replace(bad, bad[:1], flipHex(bad[:1]), 1)
	os.WriteFile(filepath.Join(dir, "BAD"), []byte(bad), 0o644)
	os.WriteFile(filepath.Join(dir, "MALFORMED"), []byte(sums.String()+"not a checksum line\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "MISSING"), []byte(sums.String()+strings.Repeat("0", 64)+"  gone.txt\n"), 0o644)
	cases := []struct {
		name, script, out string
		code              int
		errHas            string
	}{
		{"all good", "sha256sum -c SUMS", "a.txt: OK\nb.bin: OK\n", 0, ""},
		{"from stdin", "sha256sum -c < SUMS", "a.txt: OK\nb.bin: OK\n", 0, ""},
		{"quiet", "sha256sum -c --quiet SUMS", "", 0, ""},
		{"mismatch", "sha256sum -c BAD", "a.txt: FAILED\nb.bin: OK\n", 1, "1 computed checksum did NOT match"},
		{"status only", "sha256sum -c --status BAD", "", 1, ""},
		{"malformed line", "sha256sum -c MALFORMED", "a.txt: OK\nb.bin: OK\n", 0, "MALFORMED:3: improperly formatted SHA256 checksum line"},
		{"strict", "sha256sum -c --strict MALFORMED", "a.txt: OK\nb.bin: OK\n", 1, ""},
		{"missing file", "sha256sum -c MISSING", "a.txt: OK\nb.bin: OK\ngone.txt: FAILED open or read\n", 1, "could not be read"},
		{"ignore missing", "sha256sum -c --ignore-missing MISSING", "a.txt: OK\nb.bin: OK\n", 0, ""},
		{"no lines", "echo junk | sha256sum -c", "", 1, "no properly formatted checksum lines"},
		{"other algorithms", "sha512sum a.txt > S; md5sum b.bin >> S; sha512sum -c S 2>/dev/null | head -1; md5sum -c S 2>/dev/null | tail -1", "a.txt: OK\nb.bin: OK\n", 0, ""},
		{"bsd tag", "sha256sum --tag a.txt > T; sha256sum -c T", "a.txt: OK\n", 0, ""},
		{"shasum", "shasum -a 256 a.txt | cut -d' ' -f1", fmt.Sprintf("%x\n", sha256.Sum256([]byte("alpha\n"))), 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := sh(t, dir, "", tc.script)
			if r.out != tc.out || r.code != tc.code {
				t.Errorf("got %q status %d, want %q status %d; stderr %s", r.out, r.code, tc.out, tc.code, r.err)
			}
			if !strings.Contains(r.err, tc.errHas) {
				t.Errorf("stderr %q lacks %q", r.err, tc.errHas)
			}
		})
	}
}

func flipHex(s string) string {
	if s == "0" {
		return "1"
	}
	return "0"
}

func TestArchives(t *testing.T) {
	setup := `mkdir -p src/sub; echo one > src/a; echo two > src/sub/b; chmod 750 src/sub/b; ln -s a src/l; ln src/a src/hard; `
	runCases(t, []scriptCase{
		{name: "gzip round trip", script: `echo data > f; gzip f; ls; gunzip f.gz; cat f`, out: "f.gz\ndata\n"},
		{name: "gzip -c -k and zcat", script: `echo data > f; gzip -k f; gzip -c f > g.gz; zcat f.gz g.gz; ls`, out: "data\ndata\nf\nf.gz\ng.gz\n"},
		{name: "gzip stdin", script: `echo piped | gzip | gzip -d`, out: "piped\n"},
		{name: "gzip is reproducible", script: `echo x > f; gzip -c f > 1.gz; touch -d 2001-01-01T00:00:00Z f; gzip -c f > 2.gz; cmp 1.gz 2.gz && echo same`, out: "same\n"},
		{name: "gunzip bad suffix", script: `touch f; gunzip f`, code: 1, errHas: "suffix"},
		{name: "gunzip corrupt", script: `echo nope > f.gz; gunzip f.gz`, code: 1},
		{name: "tar create list extract", script: setup + `tar -cf a.tar src; tar -tf a.tar; mkdir out; tar -xf a.tar -C out; cat out/src/sub/b; readlink out/src/l; ls -l out/src/sub/b | cut -c1-10`,
			out: "src/\nsrc/a\nsrc/hard\nsrc/l\nsrc/sub/\nsrc/sub/b\ntwo\na\n-rwxr-x---\n"},
		{name: "tar hard link", script: setup + `tar -cf a.tar src; mkdir out; cd out; tar xf ../a.tar; echo more >> src/hard; cat src/a`, out: "one\nmore\n"},
		{name: "tar gzip bundled letters", script: setup + `tar czf a.tgz src/sub; tar tzf a.tgz; mkdir o; tar xf a.tgz -C o --strip-components=1; ls o`, out: "src/sub/\nsrc/sub/b\nsub\n"},
		{name: "tar stdin stdout", script: setup + `tar -cf - src/a | tar -tf -`, out: "src/a\n"},
		{name: "tar -O and members", script: setup + `tar -cf a.tar src; tar -xOf a.tar src/sub/b`, out: "two\n"},
		{name: "tar -C create", script: setup + `tar -C src -cf a.tar sub; tar -tf a.tar`, out: "sub/\nsub/b\n"},
		{name: "tar exclude", script: setup + `tar --exclude=b -cf a.tar src/sub; tar -tf a.tar`, out: "src/sub/\n"},
		{name: "tar reproducible", script: setup + `tar --mtime=@0 --owner=0 --group=0 -cf 1.tar src; touch src/a; tar --mtime=@0 --owner=0 --group=0 -cf 2.tar src; cmp 1.tar 2.tar && echo same; tar -tvf 1.tar | head -1`,
			out: "same\ndrwxr-xr-x 0/0        0 1970-01-01 00:00 src/\n"},
		{name: "tar refuses dotdot", script: `echo x > x; mkdir w o; cd w; tar -cPf ../a.tar ../x; cd ../o; tar -xf ../a.tar`, code: 2, errHas: "contains '..'"},
		{name: "tar missing member", script: setup + `tar -cf a.tar src; tar -tf a.tar nope`, code: 2, errHas: "not found in archive"},
		{name: "tar needs a mode", script: `tar -f x`, code: 1, errHas: "exactly one of"},
		{name: "tar not an archive", script: `echo garbage > g; tar -tf g`, code: 2},
		{name: "base64", script: `echo hi | base64 | base64 -d`, out: "hi\n"},
	})
}
