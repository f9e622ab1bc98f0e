package protocol

import "testing"

// The bodies clients make (V2Request.Marshal) take the fast decoder and decode as
// encoding/json does; bodies off that form are left to encoding/json.
func TestDecodeV2RequestFast(t *testing.T) {
	for _, fp := range []string{"", "5f6d3f7a0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6"} {
		req, err := NewV2Request("www.example.com", 443, fp)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := req.Marshal()
		fast, ok := decodeV2RequestFast(raw)
		if !ok || fast != req {
			t.Fatalf("client body %s: fast %v %+v", raw, ok, fast)
		}
	}
	for _, body := range []string{
		`{"host":"a","port":443,"nonce":"00"} `, `{"host":"a","port":0443,"nonce":"00"}`, `{"HOST":"a","port":443,"nonce":"00"}`,
		`{"host":"a\u0041","port":443,"nonce":"00"}`, `{"host":"é","port":443,"nonce":"00"}`, `{"port":443,"host":"a","nonce":"00"}`,
		`{"host":"a","port":443,"nonce":"00","x":1}`, `{"host":"a","port":443.0,"nonce":"00"}`, `{"host":"a","port":123456,"nonce":"00"}`,
	} {
		if _, ok := decodeV2RequestFast([]byte(body)); ok {
			t.Errorf("fast decoder took %s", body)
		}
	}
}
