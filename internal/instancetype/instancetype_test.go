package instancetype

import "testing"

// TestSizes checks the table against AWS's published sizes.
func TestSizes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		vcpu, mib int
	}{
		{"t3.nano", 2, 512}, {"t3a.micro", 2, 1024}, {"t3.medium", 2, 4096}, {"t3.2xlarge", 8, 32768},
		{"m5.large", 2, 8192}, {"m6i.24xlarge", 96, 393216}, {"m7i.4xlarge", 16, 65536},
		{"c5.9xlarge", 36, 73728}, {"c6i.8xlarge", 32, 65536}, {"c7i.large", 2, 4096},
		{"r5.large", 2, 16384}, {"r6i.16xlarge", 64, 524288},
	} {
		got, ok := Lookup(tc.name)
		if !ok || got.VCPU != tc.vcpu || got.MemoryMiB != tc.mib {
			t.Errorf("%s = %+v %v, want %d vCPU %d MiB", tc.name, got, ok, tc.vcpu, tc.mib)
		}
	}
	for _, bad := range []string{"", "t3", "t3.huge", "x1.large", "c6i.9xlarge"} {
		if _, ok := Lookup(bad); ok {
			t.Errorf("%q is not an instance type", bad)
		}
	}
	if n := len(Names()); n != 2*7+3*8+8+2*8+2*8 {
		t.Errorf("%d types", n)
	}
}
