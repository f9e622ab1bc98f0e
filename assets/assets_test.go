package assets

import (
	"bytes"
	"encoding/xml"
	"testing"
)

func TestIconsAreEmbeddedSVG(t *testing.T) {
	for _, r := range []struct {
		name string
		data []byte
	}{
		{AppIcon.Name(), AppIcon.Content()},
		{TrayProtecting.Name(), TrayProtecting.Content()},
		{TrayAlert.Name(), TrayAlert.Content()},
		{TrayPaused.Name(), TrayPaused.Content()},
		{TrayProblem.Name(), TrayProblem.Content()},
	} {
		if len(r.data) == 0 {
			t.Errorf("%s: empty resource", r.name)
			continue
		}
		dec := xml.NewDecoder(bytes.NewReader(r.data))
		var root struct {
			XMLName xml.Name
		}
		if err := dec.Decode(&root); err != nil {
			t.Errorf("%s: not well-formed XML: %v", r.name, err)
			continue
		}
		if root.XMLName.Local != "svg" {
			t.Errorf("%s: root element %q, want svg", r.name, root.XMLName.Local)
		}
	}
}
