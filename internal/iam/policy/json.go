package policy

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
)

// parseStrings reads a string or a non-empty array of strings.
func parseStrings(elem string, raw json.RawMessage) ([]string, *MalformedError) {
	var out []string
	if isArray(raw) {
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, malformed("Syntax errors in policy: %s must be a string or an array of strings.", elem)
		}
	} else {
		var one string
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, malformed("Syntax errors in policy: %s must be a string or an array of strings.", elem)
		}
		out = []string{one}
	}
	if len(out) > MaxValues {
		return nil, malformed("%s has more than %d entries.", elem, MaxValues)
	}
	for _, v := range out {
		if v == "" {
			return nil, malformed("%s entries must not be empty.", elem)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// strictUnmarshal decodes JSON, rejecting trailing data.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func isArray(raw json.RawMessage) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c == '['
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
