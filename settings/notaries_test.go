package settings

import "fmt"

func testNotary(name string, hosts int) Notary {
	n := Notary{Name: name, Region: "eu", Source: "test", Enabled: true, Bundle: []byte(`{"name":"` + name + `"}`)}
	for i := 0; i < hosts; i++ {
		n.Hosts = append(n.Hosts, NotaryHost{Host: fmt.Sprintf("n%d.%s.test", i, name), SSLPort: 443, HTTPPort: 80, CertificatePEM: "-----BEGIN CERTIFICATE-----\n...\n"})
	}
	return n
}
