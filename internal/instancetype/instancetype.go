// Package instancetype is the table of EC2 instance types Berth's
// instances can be: each type's vCPUs and memory, as AWS lists them. An
// instance registers (and is limited to) its type's resources.
package instancetype

import (
	"slices"
	"strings"
)

// Type is an instance type's size.
type Type struct {
	Name      string
	VCPU      int
	MemoryMiB int
}

// families lists, per family, its sizes' vCPUs and memory in GiB.
var families = []struct {
	names []string
	sizes []struct {
		size      string
		vcpu, gib int
	}
}{
	{[]string{"t3", "t3a"}, sizes("nano:2:0.5 micro:2:1 small:2:2 medium:2:4 large:2:8 xlarge:4:16 2xlarge:8:32")},
	{[]string{"m5", "m6i", "m7i"}, sizes("large:2:8 xlarge:4:16 2xlarge:8:32 4xlarge:16:64 8xlarge:32:128 12xlarge:48:192 16xlarge:64:256 24xlarge:96:384")},
	{[]string{"c5"}, sizes("large:2:4 xlarge:4:8 2xlarge:8:16 4xlarge:16:32 9xlarge:36:72 12xlarge:48:96 18xlarge:72:144 24xlarge:96:192")},
	{[]string{"c6i", "c7i"}, sizes("large:2:4 xlarge:4:8 2xlarge:8:16 4xlarge:16:32 8xlarge:32:64 12xlarge:48:96 16xlarge:64:128 24xlarge:96:192")},
	{[]string{"r5", "r6i"}, sizes("large:2:16 xlarge:4:32 2xlarge:8:64 4xlarge:16:128 8xlarge:32:256 12xlarge:48:384 16xlarge:64:512 24xlarge:96:768")},
}

// sizes parses "size:vcpu:gib ..." (gib may be 0.5).
func sizes(spec string) []struct {
	size      string
	vcpu, gib int
} {
	var out []struct {
		size      string
		vcpu, gib int
	}
	for _, f := range strings.Fields(spec) {
		parts := strings.Split(f, ":")
		vcpu, mib := atoi(parts[1]), 0
		if parts[2] == "0.5" {
			mib = 512
		} else {
			mib = atoi(parts[2]) * 1024
		}
		out = append(out, struct {
			size      string
			vcpu, gib int
		}{parts[0], vcpu, mib})
	}
	return out
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

var table = func() map[string]Type {
	m := map[string]Type{}
	for _, f := range families {
		for _, fam := range f.names {
			for _, s := range f.sizes {
				name := fam + "." + s.size
				m[name] = Type{Name: name, VCPU: s.vcpu, MemoryMiB: s.gib}
			}
		}
	}
	return m
}()

// Lookup returns the instance type called name.
func Lookup(name string) (Type, bool) {
	t, ok := table[name]
	return t, ok
}

// Names lists the known instance types, sorted.
func Names() []string {
	names := make([]string, 0, len(table))
	for n := range table {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
