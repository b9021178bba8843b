package cgroups

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseFlatKeyed(t *testing.T) {
	got := parseFlatKeyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\nbad line x\n")
	want := map[string]uint64{"oom_kill_disable": 0, "under_oom": 0, "oom_kill": 3}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseFlatKeyed = %v", got)
	}
}

func TestParsePSI(t *testing.T) {
	p := parsePSI("some avg10=1.50 avg60=0.25 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=5\n")
	if p == nil || p.Some.Avg10 != 1.5 || p.Some.Avg60 != 0.25 || p.Some.Total != 1234 || p.Full.Total != 5 {
		t.Errorf("parsePSI = %+v", p)
	}
	if parsePSI("") != nil {
		t.Error("parsePSI of nothing is not nil")
	}
}

func TestParseBlkio(t *testing.T) {
	got := parseBlkioV1("8:0 Read 4096\n8:0 Write 0\n8:0 Sync 4096\n8:16 Total 1\nTotal 4096\n")
	want := []BlkioEntry{{8, 0, "Read", 4096}, {8, 0, "Write", 0}, {8, 0, "Sync", 4096}, {8, 16, "Total", 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseBlkioV1 = %v", got)
	}
	b, ios := parseIOStatV2("254:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n")
	if !reflect.DeepEqual(b, []BlkioEntry{{254, 0, "Read", 100}, {254, 0, "Write", 200}}) ||
		!reflect.DeepEqual(ios, []BlkioEntry{{254, 0, "Read", 1}, {254, 0, "Write", 2}}) {
		t.Errorf("parseIOStatV2 = %v %v", b, ios)
	}
}

// The JSON keys are runc's (types.Stats): callers parse them.
func TestStatsJSONKeys(t *testing.T) {
	s := newStats()
	s.CPU.Usage.Total = 1
	s.CPU.Usage.Percpu = []uint64{1}
	s.CPU.Throttling.ThrottledPeriods = 1
	s.Memory.Usage.Limit = 5
	s.Memory.Raw["cache"] = 1
	s.Pids.Current = 1
	s.Blkio.IoServiceBytesRecursive = []BlkioEntry{{Major: 8, Op: "Read", Value: 1}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"cpu":{"usage":{"total":1,"percpu":[1],"kernel":0,"user":0},"throttling":{"throttledPeriods":1}}`,
		`"memory":{"usage":{"limit":5,"failcnt":0}`, `"swap":{"limit":0,"failcnt":0}`, `"kernelTCP":`, `"raw":{"cache":1}`,
		`"pids":{"current":1}`, `"blkio":{"ioServiceBytesRecursive":[{"major":8,"op":"Read","value":1}]}`,
		`"hugetlb":{}`, `"intel_rdt":{}`, `"network_interfaces":null`, `"cpuset":{"cpu_exclusive":0`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("stats JSON lacks %s:\n%s", k, b)
		}
	}
}
