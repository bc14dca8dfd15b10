package runtime

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/effc/effc/ir"
)

// HeaderInfo is what ParseHeader recovers from a model.h.
type HeaderInfo struct {
	Name      string // model name (the --name given to effc compile)
	Prefix    string // symbol prefix, "effc_" + Name
	Inputs    []TensorInfo
	Outputs   []TensorInfo
	ArenaSize int64
	Weights   *WeightsFile // nil unless compiled with --weights file
}

var defineRe = regexp.MustCompile(`^#define\s+([A-Za-z_][A-Za-z0-9_]*)\s+(.*?)\s*(/\*.*)?$`)

// ParseHeader reads back the macros of a header written by Header, so tools
// such as the test harness need only model.h to drive a model.
func ParseHeader(src []byte) (*HeaderInfo, error) {
	defs := map[string]string{}
	up := ""
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#error") {
			return nil, fmt.Errorf("model.h carries an error from the compiler: %s", strings.TrimSpace(strings.TrimPrefix(line, "#error")))
		}
		m := defineRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		defs[m[1]] = m[2]
		if strings.HasSuffix(m[1], "_MODEL_NAME") && up == "" {
			up = strings.TrimSuffix(m[1], "_MODEL_NAME")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading model.h: %w", err)
	}
	if up == "" {
		return nil, fmt.Errorf("not an effc model.h: no #define <PREFIX>_MODEL_NAME line; regenerate it with effc compile --emit header")
	}
	name, err := unquoteC(defs[up+"_MODEL_NAME"])
	if err != nil {
		return nil, fmt.Errorf("model.h: %s_MODEL_NAME: %w", up, err)
	}
	h := &HeaderInfo{Name: name, Prefix: Prefix(name)}
	if strings.ToUpper(h.Prefix) != up {
		return nil, fmt.Errorf("model.h: macro prefix %s does not match model name %q; the header was edited or is from another tool", up, name)
	}
	num := func(key string) (int64, error) {
		v, ok := defs[key]
		if !ok {
			return 0, fmt.Errorf("model.h: missing #define %s", key)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("model.h: #define %s %s is not a non-negative integer", key, v)
		}
		return n, nil
	}
	if h.ArenaSize, err = num(up + "_ARENA_SIZE"); err != nil {
		return nil, err
	}
	list := func(kind string) ([]TensorInfo, error) {
		n, err := num(up + "_NUM_" + kind + "S")
		if err != nil {
			return nil, err
		}
		if n > 1<<16 {
			return nil, fmt.Errorf("model.h: %d %ss is implausible", n, strings.ToLower(kind))
		}
		var out []TensorInfo
		for i := int64(0); i < n; i++ {
			m := fmt.Sprintf("%s_%s_%d", up, kind, i)
			name, err := unquoteC(defs[m+"_NAME"])
			if err != nil {
				return nil, fmt.Errorf("model.h: %s_NAME: %w", m, err)
			}
			ds, err := unquoteC(defs[m+"_DTYPE"])
			if err != nil {
				return nil, fmt.Errorf("model.h: %s_DTYPE: %w", m, err)
			}
			dt, err := ir.ParseDType(ds)
			if err != nil {
				return nil, fmt.Errorf("model.h: %s_DTYPE: %w", m, err)
			}
			rank, err := num(m + "_RANK")
			if err != nil {
				return nil, err
			}
			shape, err := parseShape(defs[m+"_SHAPE"], int(min(rank, 64)))
			if err != nil || int64(len(shape)) != rank {
				return nil, fmt.Errorf("model.h: %s_SHAPE %q does not list %d dims", m, defs[m+"_SHAPE"], rank)
			}
			t := TensorInfo{Name: name, DType: dt, Shape: shape}
			want, err := num(m + "_BYTES")
			if err != nil {
				return nil, err
			}
			if t.ByteSize() != want {
				return nil, fmt.Errorf("model.h: %s_BYTES is %d but %s%v takes %d bytes", m, want, dt, shape, t.ByteSize())
			}
			out = append(out, t)
		}
		return out, nil
	}
	if _, ok := defs[up+"_WEIGHTS_SIZE"]; ok {
		file, err := unquoteC(defs[up+"_WEIGHTS_FILE"])
		if err != nil {
			return nil, fmt.Errorf("model.h: %s_WEIGHTS_FILE: %w", up, err)
		}
		size, err := num(up + "_WEIGHTS_SIZE")
		if err != nil {
			return nil, err
		}
		h.Weights = &WeightsFile{Name: file, Size: size}
	}
	if h.Inputs, err = list("INPUT"); err != nil {
		return nil, err
	}
	if h.Outputs, err = list("OUTPUT"); err != nil {
		return nil, err
	}
	return h, nil
}

// parseShape reads "{2, 3}"; rank 0 is written "{0}".
func parseShape(s string, rank int) ([]int64, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, fmt.Errorf("want {d0, d1, ...}")
	}
	if rank == 0 {
		return []int64{}, nil
	}
	var dims []int64
	for _, f := range strings.Split(s[1:len(s)-1], ",") {
		d, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, err
		}
		dims = append(dims, d)
	}
	return dims, nil
}

// unquoteC decodes a C string literal as cString writes it.
func unquoteC(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", fmt.Errorf("%q is not a string literal", s)
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("string literal ends in a backslash")
		}
		switch n := s[i+1]; {
		case n == '"' || n == '\\':
			b.WriteByte(n)
			i++
		case i+3 < len(s) && n >= '0' && n <= '7':
			v, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
			if err != nil {
				return "", fmt.Errorf("bad octal escape \\%s", s[i+1:i+4])
			}
			b.WriteByte(byte(v))
			i += 3
		default:
			return "", fmt.Errorf("unsupported escape \\%c", n)
		}
	}
	return b.String(), nil
}
