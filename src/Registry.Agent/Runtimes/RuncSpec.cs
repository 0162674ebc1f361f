using System.Globalization;
using System.Text.Json.Nodes;

namespace Registry.Agent.Runtimes;

/// <summary>
/// The OCI runtime spec (config.json) runc runs a container from: command, entry point, environment,
/// working directory and user from the task over the image config; memory limit and reservation and cpu
/// shares; the default mounts, masked paths and capabilities runc's own template has; rlimits no higher
/// than this process's hard limits (a sandbox may refuse more); network namespace unless networkMode host
/// (the bridge's, when given).
/// </summary>
public static class RuncSpec
{
    private static readonly string[] Capabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    public static JsonObject Create(string hostname, ContainerSpec spec, JsonObject imageConfig, int fileLimit, string rootfs, string? networkNamespace = null)
    {
        var config = imageConfig["config"] as JsonObject ?? [];
        var entryPoint = spec.EntryPoint ?? Strings(config["Entrypoint"]) ?? [];
        var command = spec.Command ?? (spec.EntryPoint is null ? Strings(config["Cmd"]) : null) ?? [];
        var arguments = entryPoint.Concat(command).ToList();
        if (arguments.Count == 0)
        {
            throw new ImagePullException($"CannotStartContainerError: container {spec.Name} has no command: the task definition and the image name none");
        }

        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in Strings(config["Env"]) ?? [])
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            environment[equals < 0 ? pair : pair[..equals]] = equals < 0 ? "" : pair[(equals + 1)..];
        }

        foreach (var (name, value) in spec.Environment)
        {
            environment[name] = value;
        }

        environment.TryAdd("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        environment["HOSTNAME"] = hostname;
        var (uid, gid) = User(spec.User ?? (string?)config["User"], rootfs);
        var namespaces = new JsonArray(Namespace("pid"), Namespace("ipc"), Namespace("uts"), Namespace("mount"));
        if (spec.NetworkMode != "host")
        {
            // A new, empty namespace (none), or the one the bridge was set up in.
            var network = Namespace("network");
            if (networkNamespace is not null)
            {
                network["path"] = networkNamespace;
            }

            namespaces.Add(network);
        }

        var memory = new JsonObject();
        if (spec.MemoryMiB is { } hard)
        {
            memory["limit"] = hard * 1024L * 1024L;
            memory["swap"] = hard * 1024L * 1024L;
        }

        if (spec.MemoryReservationMiB is { } soft)
        {
            memory["reservation"] = soft * 1024L * 1024L;
        }

        return new JsonObject
        {
            ["ociVersion"] = "1.0.2",
            ["process"] = new JsonObject
            {
                ["terminal"] = false,
                ["user"] = new JsonObject { ["uid"] = uid, ["gid"] = gid },
                ["args"] = new JsonArray([.. arguments.Select(a => JsonValue.Create(a))]),
                ["env"] = new JsonArray([.. environment.Select(e => JsonValue.Create($"{e.Key}={e.Value}"))]),
                ["cwd"] = spec.WorkingDirectory ?? ((string?)config["WorkingDir"] is { Length: > 0 } directory ? directory : "/"),
                ["capabilities"] = new JsonObject
                {
                    ["bounding"] = Array(Capabilities),
                    ["effective"] = Array(Capabilities),
                    ["permitted"] = Array(Capabilities),
                },
                ["rlimits"] = new JsonArray(new JsonObject { ["type"] = "RLIMIT_NOFILE", ["hard"] = fileLimit, ["soft"] = fileLimit }),
                ["noNewPrivileges"] = true,
            },
            ["root"] = new JsonObject { ["path"] = "rootfs", ["readonly"] = false },
            ["hostname"] = hostname,
            ["mounts"] = new JsonArray(
                Mount("/proc", "proc", "proc"),
                Mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
                Mount("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
                Mount("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
                Mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
                Mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
                Mount("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid", "noexec", "nodev", "relatime", "ro")),
            ["linux"] = new JsonObject
            {
                ["resources"] = new JsonObject
                {
                    ["devices"] = new JsonArray(new JsonObject { ["allow"] = false, ["access"] = "rwm" }),
                    ["memory"] = memory,
                    ["cpu"] = new JsonObject { ["shares"] = Math.Max(spec.CpuShares, 2) },
                },
                ["namespaces"] = namespaces,
                ["maskedPaths"] = Array(["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"]),
                ["readonlyPaths"] = Array(["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]),
            },
        };
    }

    /// <summary>This process's hard limit on open files, which a container may not exceed here; 1024 when higher.</summary>
    public static int FileLimit()
    {
        var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var hard = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: >= 5 } parts && int.TryParse(parts[4], NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : 1024;
        return Math.Min(hard, 1024);
    }

    /// <summary>
    /// <c>user</c>, <c>uid</c>, <c>user:group</c> or <c>uid:gid</c>, names looked up in the image's own
    /// /etc/passwd and /etc/group as the container will see them; a user alone gets its primary group.
    /// </summary>
    public static (long Uid, long Gid) User(string? user, string rootfs)
    {
        if (string.IsNullOrEmpty(user))
        {
            return (0, 0);
        }

        var parts = user.Split(':', 2);
        var passwd = Entries(rootfs, "etc/passwd");
        long uid;
        long gid;
        if (long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out uid))
        {
            gid = passwd.FirstOrDefault(e => e.Length > 3 && e[2] == parts[0]) is { } entry && long.TryParse(entry[3], CultureInfo.InvariantCulture, out var primary) ? primary : uid;
        }
        else
        {
            var named = passwd.FirstOrDefault(e => e.Length > 3 && e[0] == parts[0] && long.TryParse(e[2], CultureInfo.InvariantCulture, out _) && long.TryParse(e[3], CultureInfo.InvariantCulture, out _))
                        ?? throw new ImagePullException($"CannotStartContainerError: user '{parts[0]}' is not in the image's /etc/passwd");
            uid = long.Parse(named[2], CultureInfo.InvariantCulture);
            gid = long.Parse(named[3], CultureInfo.InvariantCulture);
        }

        if (parts.Length == 2)
        {
            gid = long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var numeric) ? numeric
                : Entries(rootfs, "etc/group").FirstOrDefault(e => e.Length > 2 && e[0] == parts[1]) is { } group && long.TryParse(group[2], CultureInfo.InvariantCulture, out var named) ? named
                : throw new ImagePullException($"CannotStartContainerError: group '{parts[1]}' is not in the image's /etc/group");
        }

        return (uid, gid);
    }

    /// <summary>The colon-separated lines of a file in the image, read through its links inside the root; none when absent.</summary>
    private static List<string[]> Entries(string rootfs, string relative)
    {
        var path = Images.RootPath.Resolve(rootfs, relative);
        return File.Exists(path) ? File.ReadLines(path).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split(':')).ToList() : [];
    }

    private static JsonObject Namespace(string type) => new() { ["type"] = type };

    private static JsonObject Mount(string destination, string type, string source, params string[] options)
    {
        var mount = new JsonObject { ["destination"] = destination, ["type"] = type, ["source"] = source };
        if (options.Length > 0)
        {
            mount["options"] = Array(options);
        }

        return mount;
    }

    private static JsonArray Array(IEnumerable<string> values) => new([.. values.Select(v => JsonValue.Create(v))]);

    private static List<string>? Strings(JsonNode? node) => node is JsonArray array ? array.Select(s => (string)s!).ToList() : null;
}
