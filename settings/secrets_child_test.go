package settings

func runOpenSecretsChild(dir string) {}
