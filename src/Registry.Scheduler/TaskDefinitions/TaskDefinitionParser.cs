using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Registry.Scheduler.TaskDefinitions;

/// <summary>
/// Reads a RegisterTaskDefinition request as ECS validates it and returns the task definition as ECS
/// describes it: defaults filled in (essential true, cpu 0, tcp port mappings, networkMode bridge),
/// unknown members, missing images, negative or missing memory and duplicate container names refused
/// with ECS's ClientException.
/// </summary>
public static partial class TaskDefinitionParser
{
    private static readonly HashSet<string> TaskMembers =
    [
        "family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes", "placementConstraints",
        "requiresCompatibilities", "cpu", "memory", "tags", "pidMode", "ipcMode", "proxyConfiguration", "inferenceAccelerators",
        "ephemeralStorage", "runtimePlatform",
    ];

    private static readonly HashSet<string> ContainerMembers =
    [
        "name", "image", "repositoryCredentials", "cpu", "memory", "memoryReservation", "links", "portMappings", "essential",
        "restartPolicy", "entryPoint", "command", "environment", "environmentFiles", "mountPoints", "volumesFrom", "linuxParameters",
        "secrets", "dependsOn", "startTimeout", "stopTimeout", "versionConsistency", "hostname", "user", "workingDirectory",
        "disableNetworking", "privileged", "readonlyRootFilesystem", "dnsServers", "dnsSearchDomains", "extraHosts",
        "dockerSecurityOptions", "interactive", "pseudoTerminal", "dockerLabels", "ulimits", "logConfiguration", "healthCheck",
        "systemControls", "resourceRequirements", "firelensConfiguration", "credentialSpecs",
    ];

    private static readonly string[] NetworkModes = ["bridge", "host", "awsvpc", "none"];

    /// <summary>The family (validated) and the task definition document, without tags.</summary>
    public static (string Family, JsonObject Document) Parse(JsonElement request)
    {
        foreach (var member in request.EnumerateObject())
        {
            if (!TaskMembers.Contains(member.Name))
            {
                throw TaskDefinitionException.Client($"Unknown parameter in input: \"{member.Name}\"");
            }
        }

        var family = Text(request, "family") ?? throw TaskDefinitionException.Client("Family is required.");
        if (!FamilyPattern().IsMatch(family))
        {
            throw TaskDefinitionException.Client("Family contains invalid characters: up to 255 letters (uppercase and lowercase), numbers, hyphens and underscores are allowed.");
        }

        var networkMode = Text(request, "networkMode") ?? "bridge";
        if (!NetworkModes.Contains(networkMode))
        {
            throw new TaskDefinitionException("InvalidParameterException", $"networkMode must be one of {string.Join(", ", NetworkModes)}");
        }

        var taskCpu = Text(request, "cpu") is { } cpuText ? ParseCpu(cpuText) : (int?)null;
        var taskMemory = Text(request, "memory") is { } memoryText ? ParseMemory(memoryText) : (int?)null;
        if (!request.TryGetProperty("containerDefinitions", out var containers) || containers.ValueKind != JsonValueKind.Array || containers.GetArrayLength() == 0)
        {
            throw TaskDefinitionException.Client("Container list cannot be empty.");
        }

        var normalized = new JsonArray();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var container in containers.EnumerateArray())
        {
            normalized.Add(ParseContainer(container, index++, networkMode, taskMemory, names));
        }

        if (!normalized.Any(c => c!["essential"]!.GetValue<bool>()))
        {
            throw TaskDefinitionException.Client("Task definition does not have any essential container.");
        }

        var document = new JsonObject
        {
            ["family"] = family,
            ["containerDefinitions"] = normalized,
            ["networkMode"] = networkMode,
            ["volumes"] = Copy(request, "volumes") ?? new JsonArray(),
            ["placementConstraints"] = Copy(request, "placementConstraints") ?? new JsonArray(),
            ["compatibilities"] = new JsonArray("EC2", "EXTERNAL"),
        };
        foreach (var optional in new[] { "taskRoleArn", "executionRoleArn", "requiresCompatibilities", "pidMode", "ipcMode", "runtimePlatform", "ephemeralStorage" })
        {
            if (Copy(request, optional) is { } value)
            {
                document[optional] = value;
            }
        }

        foreach (var role in new[] { "taskRoleArn", "executionRoleArn" })
        {
            if (document[role] is { } arn && (arn.GetValueKind() != JsonValueKind.String || !((string)arn!).StartsWith("arn:", StringComparison.Ordinal)))
            {
                throw TaskDefinitionException.Client($"{role} must be a role ARN (arn:aws:iam::<account>:role/<name>)");
            }
        }

        if (taskCpu is not null)
        {
            document["cpu"] = taskCpu.Value.ToString(CultureInfo.InvariantCulture);
        }

        if (taskMemory is not null)
        {
            document["memory"] = taskMemory.Value.ToString(CultureInfo.InvariantCulture);
        }

        return (family, document);
    }

    private static JsonObject ParseContainer(JsonElement container, int index, string networkMode, int? taskMemory, HashSet<string> names)
    {
        if (container.ValueKind != JsonValueKind.Object)
        {
            throw TaskDefinitionException.Client($"containerDefinitions[{index}] must be an object");
        }

        foreach (var member in container.EnumerateObject())
        {
            if (!ContainerMembers.Contains(member.Name))
            {
                throw TaskDefinitionException.Client($"Unknown parameter in containerDefinitions[{index}]: \"{member.Name}\"");
            }
        }

        var name = Text(container, "name") is { Length: > 0 } n ? n : throw TaskDefinitionException.Client("Container.name should not be null or empty.");
        if (!names.Add(name))
        {
            throw TaskDefinitionException.Client($"Duplicate container name '{name}' found in the task definition.");
        }

        var image = Text(container, "image") is { Length: > 0 } i ? i : throw TaskDefinitionException.Client($"Container.image should not be null or empty (container '{name}').");
        var memory = Int(container, "memory", name);
        var reservation = Int(container, "memoryReservation", name);
        var cpu = Int(container, "cpu", name) ?? 0;
        if (memory is <= 0 || reservation is <= 0 || cpu < 0)
        {
            throw TaskDefinitionException.Client($"Invalid setting for container '{name}': memory and memoryReservation must be positive, cpu must not be negative.");
        }

        if (memory is { } hard && reservation is { } soft && soft > hard)
        {
            throw TaskDefinitionException.Client($"Invalid setting for container '{name}': memoryReservation must be less than or equal to memory.");
        }

        if (memory is null && reservation is null && taskMemory is null)
        {
            throw TaskDefinitionException.Client($"Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be specified.");
        }

        var normalized = JsonNode.Parse(container.GetRawText())!.AsObject();
        normalized["cpu"] = cpu;
        normalized["essential"] = container.TryGetProperty("essential", out var essential) ? essential.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw TaskDefinitionException.Client($"essential of container '{name}' must be a boolean"),
        } : true;
        normalized["portMappings"] = PortMappings(container, name, networkMode);
        normalized["environment"] ??= new JsonArray();
        normalized["mountPoints"] ??= new JsonArray();
        normalized["volumesFrom"] ??= new JsonArray();
        foreach (var list in new[] { "command", "entryPoint" })
        {
            if (container.TryGetProperty(list, out var value) && (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String)))
            {
                throw TaskDefinitionException.Client($"{list} of container '{name}' must be a list of strings");
            }
        }

        if (container.TryGetProperty("healthCheck", out var health))
        {
            if (health.ValueKind != JsonValueKind.Object || !health.TryGetProperty("command", out var check) || check.ValueKind != JsonValueKind.Array || check.GetArrayLength() == 0
                || check.EnumerateArray().Any(c => c.ValueKind != JsonValueKind.String))
            {
                throw TaskDefinitionException.Client($"healthCheck of container '{name}' needs a command list");
            }

            // ECS's ranges and defaults, in seconds.
            var checkSettings = new JsonObject { ["command"] = JsonNode.Parse(check.GetRawText()) };
            foreach (var (setting, low, high, fallback) in new[] { ("interval", 5, 300, 30), ("timeout", 2, 60, 5), ("retries", 1, 10, 3), ("startPeriod", 0, 300, 0) })
            {
                var value = health.TryGetProperty(setting, out var given) ? given.TryGetInt32(out var seconds) && seconds >= low && seconds <= high ? seconds
                    : throw TaskDefinitionException.Client($"healthCheck {setting} of container '{name}' must be from {low} to {high}") : fallback;
                checkSettings[setting] = value;
            }

            normalized["healthCheck"] = checkSettings;
        }

        return normalized;
    }

    private static JsonArray PortMappings(JsonElement container, string name, string networkMode)
    {
        var mappings = new JsonArray();
        if (!container.TryGetProperty("portMappings", out var element))
        {
            return mappings;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            throw TaskDefinitionException.Client($"portMappings of container '{name}' must be a list");
        }

        foreach (var mapping in element.EnumerateArray())
        {
            var containerPort = mapping.TryGetProperty("containerPort", out var cp) && cp.TryGetInt32(out var c) && c is >= 1 and <= 65535 ? c
                : throw TaskDefinitionException.Client($"Invalid containerPort in container '{name}': 1 to 65535");
            int? hostPort = mapping.TryGetProperty("hostPort", out var hp) ? hp.TryGetInt32(out var h) && h is >= 0 and <= 65535 ? h
                : throw TaskDefinitionException.Client($"Invalid hostPort in container '{name}': 0 to 65535") : null;
            if (networkMode is "host" or "awsvpc" && hostPort is { } given && given != containerPort)
            {
                throw TaskDefinitionException.Client($"In {networkMode} network mode the hostPort of container '{name}' must equal its containerPort.");
            }

            var protocol = mapping.TryGetProperty("protocol", out var p) ? p.GetString() : "tcp";
            if (protocol is not ("tcp" or "udp"))
            {
                throw TaskDefinitionException.Client($"Invalid protocol in container '{name}': tcp or udp");
            }

            var normalized = JsonNode.Parse(mapping.GetRawText())!.AsObject();
            normalized["containerPort"] = containerPort;
            normalized["hostPort"] = networkMode is "host" or "awsvpc" ? containerPort : hostPort ?? 0;
            normalized["protocol"] = protocol;
            mappings.Add(normalized);
        }

        return mappings;
    }

    /// <summary>Task cpu: CPU units ("256") or vCPUs ("0.25 vCPU").</summary>
    private static int ParseCpu(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.EndsWith("vcpu", StringComparison.OrdinalIgnoreCase)
            && decimal.TryParse(trimmed[..^4], NumberStyles.Float, CultureInfo.InvariantCulture, out var vcpu) && vcpu > 0)
        {
            return (int)(vcpu * 1024);
        }

        return int.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var units) && units > 0
            ? units
            : throw TaskDefinitionException.Client($"Invalid 'cpu' setting for task: '{text}'");
    }

    /// <summary>Task memory: MiB ("512") or GB ("1 GB").</summary>
    private static int ParseMemory(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.EndsWith("gb", StringComparison.OrdinalIgnoreCase)
            && decimal.TryParse(trimmed[..^2], NumberStyles.Float, CultureInfo.InvariantCulture, out var gb) && gb > 0)
        {
            return (int)(gb * 1024);
        }

        return int.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var mib) && mib > 0
            ? mib
            : throw TaskDefinitionException.Client($"Invalid 'memory' setting for task: '{text}'");
    }

    private static string? Text(JsonElement parent, string name) =>
        !parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : value.ValueKind == JsonValueKind.Number ? value.GetRawText()
        : throw TaskDefinitionException.Client($"{name} must be a string");

    private static int? Int(JsonElement parent, string name, string container) =>
        !parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.TryGetInt32(out var number) ? number
        : throw TaskDefinitionException.Client($"Invalid '{name}' setting for container '{container}': an integer is required");

    private static JsonNode? Copy(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? JsonNode.Parse(value.GetRawText()) : null;

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,255}$")]
    private static partial Regex FamilyPattern();
}
