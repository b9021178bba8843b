package cgroups

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFrozenSaved(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		f := map[bool]string{true: "freezer.state", false: "cgroup.freeze"}[name[:2] == "v1"]
		if err := os.WriteFile(filepath.Join(d, f), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	frozen1, thawed1 := write("v1-frozen", "FROZEN\n"), write("v1-thawed", "THAWED\n")
	frozen2, thawed2 := write("v2-frozen", "1\n"), write("v2-thawed", "0\n")
	cases := []struct {
		s    Saved
		want bool
	}{
		{Saved{Driver: DriverV1, Paths: map[string]string{"freezer": frozen1, "": thawed2}}, true},
		{Saved{Driver: DriverV1, Paths: map[string]string{"freezer": thawed1, "": frozen2}}, false},
		{Saved{Driver: DriverV1, Paths: map[string]string{"memory": frozen1}}, false}, // no freezer hierarchy
		{Saved{Driver: DriverV2, Paths: map[string]string{"": frozen2}}, true},
		{Saved{Driver: DriverV2, Paths: map[string]string{"": thawed2}}, false},
		{Saved{Driver: DriverSystemd, Legacy: true, Paths: map[string]string{"freezer": frozen1}}, true},
		{Saved{Driver: DriverSystemd, Paths: map[string]string{"": frozen2}}, true},
	}
	for _, c := range cases {
		got, err := FrozenSaved(c.s)
		if err != nil || got != c.want {
			t.Errorf("FrozenSaved(%+v) = %v, %v; want %v", c.s, got, err, c.want)
		}
		// The same answer as the manager's.
		m, err := Load(c.s)
		if err != nil {
			t.Fatal(err)
		}
		if mf, _ := m.Frozen(); mf != got {
			t.Errorf("%+v: manager says frozen=%v, FrozenSaved %v", c.s, mf, got)
		}
	}
	if _, err := FrozenSaved(Saved{Driver: "bogus"}); err == nil {
		t.Error("FrozenSaved accepted an unknown driver")
	}
}
