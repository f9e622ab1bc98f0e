package sysproxy

// mechanisms are GNOME's settings (read by GNOME, Cinnamon, Budgie, Unity, and by
// Chromium and Firefox on desktops that name themselves GNOME), KDE's kioslaverc, and
// environment.d, which systemd's user session turns into the environment of the
// programs started from it (http_proxy, https_proxy for curl, wget, git, apt).
func mechanisms() []Mechanism { return []Mechanism{gnome{}, kde{}, environment{}} }
