package settings

import "testing"

// TestThresholdNeeded: each rule's vouches out of the notaries asked.
func TestThresholdNeeded(t *testing.T) {
	cases := []struct {
		th        Threshold
		k, asked  int
		want      int
		describes string
	}{
		{ThresholdAll, 0, 3, 3, "all 3"},
		{ThresholdMajority, 0, 3, 2, "more than half: 2 of 3"},
		{ThresholdMajority, 0, 4, 3, "more than half: 3 of 4"},
		{ThresholdMajority, 0, 1, 1, "more than half: 1 of 1"},
		{ThresholdOne, 0, 5, 1, "at least one"},
		{ThresholdKOfN, 2, 5, 2, "at least 2"},
		{ThresholdKOfN, 0, 5, 1, "at least 1"},
		{"unknown", 0, 3, 2, "more than half: 2 of 3"},
	}
	for _, c := range cases {
		if got := c.th.Needed(c.k, c.asked); got != c.want {
			t.Errorf("%s k=%d of %d: needs %d, want %d", c.th, c.k, c.asked, got, c.want)
		}
		if got := c.th.Describe(c.k, c.asked); got != c.describes {
			t.Errorf("%s k=%d of %d: %q, want %q", c.th, c.k, c.asked, got, c.describes)
		}
	}
}
