using System.Globalization;
using System.Text.Json.Nodes;
using k8s.Models;
using Registry.Scheduler.Tasks;

namespace Registry.Kubernetes.Manifests;

/// <summary>
/// A task definition (as the parser normalized it) with RunTask's overrides, as a Pod spec: entryPoint and
/// command as command and args, environment, ports (hostNetwork for networkMode host), cpu units as
/// millicore requests (1024 units = 1 core), memory as limits and memoryReservation as requests, the
/// task-level cpu and memory shared among containers without their own, health checks as exec probes,
/// stopTimeout as the grace period, the task role as a service account. What a Pod cannot express is
/// refused rather than dropped.
/// </summary>
public static partial class PodSpecs
{
    /// <summary>Container definition members with no faithful Pod equivalent here.</summary>
    private static readonly string[] Unsupported =
    [
        "mountPoints", "volumesFrom", "secrets", "dependsOn", "links", "environmentFiles", "repositoryCredentials", "linuxParameters",
        "ulimits", "resourceRequirements", "extraHosts", "dnsServers", "dnsSearchDomains", "hostname", "disableNetworking", "restartPolicy",
        "systemControls", "dockerSecurityOptions", "firelensConfiguration",
    ];

    /// <summary>Task definition members with no faithful Pod equivalent here.</summary>
    private static readonly string[] UnsupportedInTask = ["volumes", "pidMode", "ipcMode", "proxyConfiguration", "inferenceAccelerators", "ephemeralStorage"];

    public static V1PodSpec For(JsonObject taskDefinition, TaskOverrides overrides, string? serviceAccount, IReadOnlyList<string> imagePullSecrets, bool restartAlways)
    {
        var definitions = (taskDefinition["containerDefinitions"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        foreach (var definition in definitions)
        {
            if (Unsupported.FirstOrDefault(member => definition[member] is JsonArray { Count: > 0 } or JsonObject) is { } member)
            {
                throw new KubernetesManifestException($"Container {(string?)definition["name"]}: {member} is not supported on the KUBERNETES launch type.");
            }
        }

        if (UnsupportedInTask.FirstOrDefault(member => taskDefinition[member] is JsonArray { Count: > 0 } or JsonObject or JsonValue) is { } taskMember)
        {
            throw new KubernetesManifestException($"{taskMember} is not supported on the KUBERNETES launch type.");
        }

        if ((string?)taskDefinition["networkMode"] == "none")
        {
            throw new KubernetesManifestException("networkMode none is not supported on the KUBERNETES launch type: every Pod has a network.");
        }

        var hostNetwork = (string?)taskDefinition["networkMode"] == "host";
        var taskCpu = (overrides.Cpu ?? (string?)taskDefinition["cpu"]) is { } cpuText ? int.Parse(cpuText, CultureInfo.InvariantCulture) : (int?)null;
        var taskMemory = (overrides.Memory ?? (string?)taskDefinition["memory"]) is { } memoryText ? int.Parse(memoryText, CultureInfo.InvariantCulture) : (int?)null;
        // ECS cpu units are shares: a request. A hard memory limit is a limit (and the request unless a reservation is lower).
        var cpu = Share(definitions.Select(d => (overrides.For((string)d["name"]!)?.Cpu ?? (int?)d["cpu"]) is > 0 and int own ? (own, (int?)null) : ((int?)null, (int?)null)).ToList(), taskCpu);
        var memory = Share(definitions.Select(d =>
        {
            var containerOverride = overrides.For((string)d["name"]!);
            var hard = containerOverride?.Memory ?? (int?)d["memory"];
            var reservation = containerOverride?.MemoryReservation ?? (int?)d["memoryReservation"];
            return ((int?)(reservation ?? hard), hard);
        }).ToList(), taskMemory);
        return new V1PodSpec
        {
            Containers = definitions.Select((definition, i) => Container(definition, overrides.For((string)definition["name"]!), cpu[i], memory[i], hostNetwork, restartAlways)).ToList(),
            RestartPolicy = restartAlways ? "Always" : "Never",
            HostNetwork = hostNetwork ? true : null,
            ServiceAccountName = serviceAccount,
            AutomountServiceAccountToken = serviceAccount is null ? false : null,
            TerminationGracePeriodSeconds = definitions.Max(d => (long?)(int?)d["stopTimeout"]) ?? 30,
            ImagePullSecrets = imagePullSecrets.Count == 0 ? null : imagePullSecrets.Select(s => new V1LocalObjectReference { Name = s }).ToList(),
        };
    }

    private static V1Container Container(JsonObject definition, ContainerOverride? containerOverride, (int? Request, int? Limit) cpu, (int? Request, int? Limit) memory, bool hostNetwork, bool restartAlways)
    {
        var name = (string)definition["name"]!;
        var environment = (definition["environment"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(e => new KeyValue((string)e["name"]!, (string?)e["value"]))
            .Where(e => containerOverride?.Environment?.All(o => o.Name != e.Name) ?? true)
            .Concat(containerOverride?.Environment ?? [])
            .ToList();
        if (environment.FirstOrDefault(e => !EnvironmentName().IsMatch(e.Name)) is { } badName)
        {
            throw new KubernetesManifestException($"Container {name}: environment variable name '{badName.Name}' is not one Kubernetes accepts (letters, digits, '_', '-', '.'; not starting with a digit).");
        }

        if (memory is { Request: { } request, Limit: { } limit } && request > limit)
        {
            throw new KubernetesManifestException($"Container {name}: memoryReservation {request} MiB is above its memory limit {limit} MiB.");
        }

        var probe = Probe(definition["healthCheck"] as JsonObject);
        return new V1Container
        {
            Name = KubernetesNames.Dns1123(name, 63),
            Image = (string)definition["image"]!,
            Command = Strings(definition["entryPoint"]),
            Args = containerOverride?.Command ?? Strings(definition["command"]),
            WorkingDir = (string?)definition["workingDirectory"],
            Env = environment.Count == 0 ? null : environment.Select(e => new V1EnvVar { Name = e.Name, Value = e.Value ?? "" }).ToList(),
            Ports = Ports(definition, hostNetwork),
            Resources = Resources(cpu, memory),
            ReadinessProbe = probe,
            // A failing check replaces a service's task in ECS: here Kubernetes restarts the container. A task run
            // alone is not stopped by ECS for failing its check, so its Pod gets no liveness probe.
            LivenessProbe = restartAlways ? probe : null,
            SecurityContext = SecurityContext(definition),
        };
    }

    /// <summary>The probe for an ECS health check: CMD-SHELL through /bin/sh -c, CMD as given; ECS's defaults.</summary>
    private static V1Probe? Probe(JsonObject? healthCheck)
    {
        if (healthCheck?["command"] is not JsonArray { Count: >= 2 } command)
        {
            return null;
        }

        var words = command.Select(c => (string)c!).ToList();
        var exec = words[0] switch
        {
            "CMD-SHELL" => ["/bin/sh", "-c", string.Join(' ', words.Skip(1))],
            "CMD" => words.Skip(1).ToList(),
            _ => throw new KubernetesManifestException($"healthCheck command must start with CMD or CMD-SHELL, not {words[0]}."),
        };
        return new V1Probe
        {
            Exec = new V1ExecAction { Command = exec },
            PeriodSeconds = (int?)healthCheck["interval"] ?? 30,
            TimeoutSeconds = (int?)healthCheck["timeout"] ?? 5,
            FailureThreshold = (int?)healthCheck["retries"] ?? 3,
            InitialDelaySeconds = (int?)healthCheck["startPeriod"] ?? 0,
        };
    }

    private static List<V1ContainerPort>? Ports(JsonObject definition, bool hostNetwork)
    {
        var ports = (definition["portMappings"] as JsonArray ?? []).OfType<JsonObject>().Select(m => new V1ContainerPort
        {
            ContainerPort = (int)m["containerPort"]!,
            Protocol = ((string?)m["protocol"] ?? "tcp").ToUpperInvariant(),
            HostPort = hostNetwork ? (int)m["containerPort"]! : null,
        }).ToList();
        return ports.Count == 0 ? null : ports;
    }

    private static V1ResourceRequirements? Resources((int? Request, int? Limit) cpu, (int? Request, int? Limit) memory)
    {
        var requests = new Dictionary<string, ResourceQuantity>();
        var limits = new Dictionary<string, ResourceQuantity>();
        if (cpu.Request is > 0 and var cpuRequest)
        {
            requests["cpu"] = Millicores(cpuRequest);
        }

        if (cpu.Limit is > 0 and var cpuLimit)
        {
            limits["cpu"] = Millicores(cpuLimit);
        }

        if (memory.Request is > 0 and var memoryRequest)
        {
            requests["memory"] = new ResourceQuantity($"{memoryRequest}Mi");
        }

        if (memory.Limit is > 0 and var memoryLimit)
        {
            limits["memory"] = new ResourceQuantity($"{memoryLimit}Mi");
        }

        return requests.Count + limits.Count == 0 ? null : new V1ResourceRequirements { Requests = requests.Count == 0 ? null : requests, Limits = limits.Count == 0 ? null : limits };
    }

    /// <summary>1024 ECS cpu units are one core; at least 1m, so a small share still asks for something.</summary>
    private static ResourceQuantity Millicores(int units) => new($"{Math.Max(1, units * 1000 / 1024)}m");

    /// <summary>
    /// Each container's (request, limit) of a resource: its own where it has one, and the task-level amount
    /// left after those split evenly among the containers without one, as both request and limit (a
    /// task-level size is a hard size in ECS).
    /// </summary>
    private static List<(int? Request, int? Limit)> Share(List<(int? Request, int? Limit)> own, int? taskAmount)
    {
        var without = own.Count(o => o.Request is null);
        var share = taskAmount is { } total && without > 0 ? Math.Max(0, total - own.Sum(o => o.Request ?? 0)) / without : (int?)null;
        if (share == 0)
        {
            throw new KubernetesManifestException($"The task-level size ({taskAmount}) leaves nothing for the containers that do not give their own.");
        }

        return own.Select(o => o.Request is null ? (share, share) : o).ToList();
    }

    private static V1SecurityContext? SecurityContext(JsonObject definition)
    {
        var privileged = (bool?)definition["privileged"];
        var readOnly = (bool?)definition["readonlyRootFilesystem"];
        long? user = null;
        long? group = null;
        if ((string?)definition["user"] is { } spec)
        {
            var parts = spec.Split(':');
            if (parts.Length > 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var uid)
                || (parts.Length == 2 && !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            {
                throw new KubernetesManifestException($"Container {(string?)definition["name"]}: user must be numeric (uid or uid:gid) on the KUBERNETES launch type, not '{spec}'.");
            }

            user = uid;
            group = parts.Length == 2 ? long.Parse(parts[1], CultureInfo.InvariantCulture) : null;
        }

        return privileged is null && readOnly is null && user is null
            ? null
            : new V1SecurityContext { Privileged = privileged, ReadOnlyRootFilesystem = readOnly, RunAsUser = user, RunAsGroup = group };
    }

    private static List<string>? Strings(JsonNode? node) => node is JsonArray array ? array.Select(s => (string)s!).ToList() : null;

    [System.Text.RegularExpressions.GeneratedRegex("^[-._a-zA-Z][-._a-zA-Z0-9]*$")]
    private static partial System.Text.RegularExpressions.Regex EnvironmentName();
}
