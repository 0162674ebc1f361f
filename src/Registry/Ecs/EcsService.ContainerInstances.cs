using System.Globalization;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Registry.AwsApi;
using Registry.Data.Entities;
using Registry.Scheduler.Tasks;

namespace Registry.Ecs;

/// <summary>
/// Container instances: agents register with the resources they offer (and re-register after a restart
/// with the ARN they were given, keeping their identity and tasks); users describe, list and deregister them.
/// </summary>
internal sealed partial class EcsService
{
    private async Task<object> RegisterContainerInstanceAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        await AuthorizeAsync(call, "ecs:RegisterContainerInstance", ClusterArn(cluster.Name));
        var resources = call.Array("totalResources", required: true);
        var cpu = IntegerResource(resources, "CPU");
        var memory = IntegerResource(resources, "MEMORY");
        var ports = resources.Where(r => Text(r, "name") == "PORTS" && r.TryGetProperty("stringSetValue", out _))
            .SelectMany(r => r.GetProperty("stringSetValue") is { ValueKind: JsonValueKind.Array } set ? set.EnumerateArray() : throw AwsApiException.InvalidParameter("PORTS needs a stringSetValue list"))
            .Select(p => p.ValueKind == JsonValueKind.String && int.TryParse(p.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is > 0 and <= 65535 ? n
                : throw AwsApiException.InvalidParameter("PORTS must be port numbers as strings"))
            .ToList();
        var attributes = call.Array("attributes", required: false)
            .Select(a => new InstanceAttribute(Text(a, "name") ?? throw AwsApiException.InvalidParameter("attributes need a name"), Text(a, "value")))
            .ToList();
        if (attributes.FirstOrDefault(a => a.Name == InstanceAttribute.Address) is { } address
            && Uri.CheckHostName(address.Value) is not (UriHostNameType.IPv4 or UriHostNameType.IPv6 or UriHostNameType.Dns))
        {
            throw AwsApiException.InvalidParameter($"attribute {InstanceAttribute.Address} must be an IP address or host name, not '{address.Value}'");
        }

        var ec2InstanceId = IdentityDocumentInstanceId(call.Optional("instanceIdentityDocument"));
        var agentVersion = call.Body.TryGetProperty("versionInfo", out var version) && version.ValueKind == JsonValueKind.Object ? Text(version, "agentVersion") ?? "" : "";
        var runtime = attributes.FirstOrDefault(a => a.Name == InstanceAttribute.Runtime)?.Value ?? "docker";

        await using var db = await DbAsync(call);
        var now = DateTime.UtcNow;
        ContainerInstanceEntity? instance = null;
        if (call.Optional("containerInstanceArn") is { } arn)
        {
            var id = ContainerInstanceId(arn);
            instance = await db.ContainerInstances.FirstOrDefaultAsync(i => i.InstanceId == id && i.ClusterId == cluster.Id && i.Status != "INACTIVE", call.Context.RequestAborted)
                       ?? throw new AwsApiException("InvalidParameterException", $"Container instance {arn} is not registered in cluster {cluster.Name}.");
            RequireOwner(call, instance);
        }

        if (instance is null)
        {
            instance = new ContainerInstanceEntity
            {
                InstanceId = Guid.NewGuid().ToString("N"),
                ClusterId = cluster.Id,
                Ec2InstanceId = ec2InstanceId,
                Status = "ACTIVE",
                RegisteredAt = now,
                ReservedPorts = "",
                Attributes = "[]",
                Runtime = runtime,
                AgentVersion = agentVersion,
            };
            db.ContainerInstances.Add(instance);
        }

        instance.Cpu = cpu;
        instance.Memory = memory;
        instance.ReservedPorts = string.Join(',', ports);
        instance.Attributes = JsonSerializer.Serialize(attributes, InstanceAttribute.Json);
        instance.Runtime = runtime;
        instance.AgentVersion = agentVersion;
        instance.Address = attributes.FirstOrDefault(a => a.Name == InstanceAttribute.Address)?.Value ?? RemoteAddress(call);
        instance.RegisteredBy = call.User.Identity!.Name!;
        instance.AgentConnected = true;
        instance.LastHeartbeatAt = now;
        instance.Version++;
        await db.SaveChangesAsync(call.Context.RequestAborted);
        await DurableAsync(call);
        var usage = await InstanceUsageAsync(db, [instance.Id], call.Context.RequestAborted);
        return new { containerInstance = Describe(cluster.Name, instance, usage.GetValueOrDefault(instance.Id)) };
    }

    /// <summary>
    /// Only the principal that registered an instance acts as it (instances from before owners were kept
    /// are claimed by their next registration).
    /// </summary>
    private static void RequireOwner(AwsCall call, ContainerInstanceEntity instance)
    {
        if (instance.RegisteredBy.Length > 0 && instance.RegisteredBy != call.User.Identity!.Name)
        {
            throw new AwsApiException("AccessDeniedException", $"Container instance {instance.InstanceId} was registered by another principal; only it may act as the instance.");
        }
    }

    /// <summary>The address the agent called from, IPv4 when it is one.</summary>
    private static string RemoteAddress(AwsCall call) =>
        call.Context.Connection.RemoteIpAddress is { } address ? (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString() : "";

    private async Task<object> DescribeContainerInstancesAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        await AuthorizeAsync(call, "ecs:DescribeContainerInstances", ClusterArn(cluster.Name));
        var requested = call.Strings("containerInstances", required: true);
        var ids = requested.Select(ContainerInstanceId).ToList();
        await using var db = await DbAsync(call);
        var found = await db.ContainerInstances.AsNoTracking().Where(i => i.ClusterId == cluster.Id && ids.Contains(i.InstanceId)).ToListAsync(call.Context.RequestAborted);
        var usage = await InstanceUsageAsync(db, found.Select(i => i.Id).ToList(), call.Context.RequestAborted);
        return new
        {
            containerInstances = found.Select(i => Describe(cluster.Name, i, usage.GetValueOrDefault(i.Id))).ToList(),
            failures = requested.Where((_, n) => found.All(i => i.InstanceId != ids[n])).Select(arn => new { arn, reason = "MISSING" }).ToList(),
        };
    }

    private async Task<object> ListContainerInstancesAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        await AuthorizeAsync(call, "ecs:ListContainerInstances", ClusterArn(cluster.Name));
        var status = call.Optional("status");
        if (status is not (null or "ACTIVE" or "DRAINING" or "REGISTERING" or "DEREGISTERING" or "REGISTRATION_FAILED"))
        {
            throw AwsApiException.InvalidParameter("status must be ACTIVE, DRAINING, REGISTERING, DEREGISTERING or REGISTRATION_FAILED");
        }

        var limit = call.MaxResults(100, 100);
        var after = call.PageAfter();
        await using var db = await DbAsync(call);
        var query = db.ContainerInstances.AsNoTracking().Where(i => i.ClusterId == cluster.Id && i.Status != "INACTIVE");
        if (status is not null)
        {
            query = query.Where(i => i.Status == status);
        }

        if (after is not null)
        {
            query = query.Where(i => string.Compare(i.InstanceId, after) > 0);
        }

        var ids = await query.OrderBy(i => i.InstanceId).Select(i => i.InstanceId).Take(limit + 1).ToListAsync(call.Context.RequestAborted);
        var page = ids.Take(limit).ToList();
        return new
        {
            containerInstanceArns = page.Select(id => ContainerInstanceArn(cluster.Name, id)).ToList(),
            nextToken = ids.Count > limit ? AwsCallExtensions.NextToken(page[^1]) : null,
        };
    }

    private async Task<object> DeregisterContainerInstanceAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        await AuthorizeAsync(call, "ecs:DeregisterContainerInstance", ClusterArn(cluster.Name));
        var id = ContainerInstanceId(call.Required("containerInstance"));
        var force = call.OptionalBool("force") ?? false;
        await using var db = await DbAsync(call);
        var instance = await db.ContainerInstances.FirstOrDefaultAsync(i => i.ClusterId == cluster.Id && i.InstanceId == id && i.Status != "INACTIVE", call.Context.RequestAborted)
                       ?? throw new AwsApiException("InvalidParameterException", "The referenced container instance is not registered in this cluster.");
        var running = await db.Tasks.Where(t => t.ContainerInstanceId == instance.Id && t.LastStatus != TaskStatuses.Stopped).ToListAsync(call.Context.RequestAborted);
        if (running.Count > 0 && !force)
        {
            throw new AwsApiException("InvalidParameterException", "The container instance has tasks running on it; stop them first or deregister with force.");
        }

        var now = DateTime.UtcNow;
        foreach (var task in running)
        {
            // As ECS: forced deregistration leaves the containers to the host, and the tasks are no longer tracked as running.
            TaskLifecycle.MarkLost(task, "Container instance deregistered", now);
        }

        instance.Status = "INACTIVE";
        instance.AgentConnected = false;
        instance.Version++;
        await db.SaveChangesAsync(call.Context.RequestAborted);
        await DurableAsync(call);
        return new { containerInstance = Describe(cluster.Name, instance, null) };
    }

    private object Describe(string clusterName, ContainerInstanceEntity instance, InstanceUsage? usage)
    {
        var reserved = ParsePorts(instance.ReservedPorts);
        var used = usage?.HostPorts ?? [];
        return new
        {
            containerInstanceArn = ContainerInstanceArn(clusterName, instance.InstanceId),
            ec2InstanceId = instance.Ec2InstanceId,
            version = instance.Version,
            versionInfo = new { agentVersion = instance.AgentVersion },
            status = instance.Status,
            agentConnected = instance.AgentConnected,
            runningTasksCount = usage?.Running ?? 0,
            pendingTasksCount = usage?.Pending ?? 0,
            registeredAt = AwsCallExtensions.Epoch(instance.RegisteredAt),
            registeredResources = Resources(instance.Cpu, instance.Memory, reserved),
            remainingResources = Resources(instance.Cpu - (usage?.Cpu ?? 0), instance.Memory - (usage?.Memory ?? 0), [.. reserved, .. used]),
            attributes = JsonSerializer.Deserialize<List<InstanceAttribute>>(instance.Attributes, InstanceAttribute.Json),
            tags = Array.Empty<object>(),
        };
    }

    private static object[] Resources(int cpu, int memory, IEnumerable<int> ports) =>
    [
        new { name = "CPU", type = "INTEGER", integerValue = cpu, doubleValue = 0.0, longValue = 0L },
        new { name = "MEMORY", type = "INTEGER", integerValue = memory, doubleValue = 0.0, longValue = 0L },
        new { name = "PORTS", type = "STRINGSET", stringSetValue = ports.Distinct().Order().Select(p => p.ToString(CultureInfo.InvariantCulture)).ToList(), integerValue = 0, doubleValue = 0.0, longValue = 0L },
    ];

    private static int IntegerResource(IReadOnlyList<JsonElement> resources, string name) =>
        resources.FirstOrDefault(r => Text(r, name: "name") == name) is { ValueKind: JsonValueKind.Object } r
        && r.TryGetProperty("integerValue", out var value) && value.TryGetInt32(out var n) && n > 0
            ? n
            : throw AwsApiException.InvalidParameter($"totalResources must give {name} as a positive integerValue");

    /// <summary>The host id from an EC2-style identity document (<c>{"instanceId": …}</c>); a generated one without.</summary>
    private static string IdentityDocumentInstanceId(string? document)
    {
        if (document is null)
        {
            return "i-" + Guid.NewGuid().ToString("N")[..17];
        }

        try
        {
            using var json = JsonDocument.Parse(document);
            return json.RootElement.TryGetProperty("instanceId", out var id) && id.ValueKind == JsonValueKind.String && id.GetString()!.Length is > 0 and <= 64
                ? id.GetString()!
                : throw AwsApiException.InvalidParameter("instanceIdentityDocument needs an instanceId of 1 to 64 characters");
        }
        catch (JsonException)
        {
            throw AwsApiException.InvalidParameter("instanceIdentityDocument must be a JSON document");
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static List<int> ParsePorts(string ports) =>
        ports.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToList();

    private string ContainerInstanceArn(string cluster, string id) => $"arn:aws:ecs:{Aws.Region}:{Aws.AccountId}:container-instance/{cluster}/{id}";

    /// <summary>The id of a container instance named by its ARN or by the id alone.</summary>
    private static string ContainerInstanceId(string reference) => reference[(reference.LastIndexOf('/') + 1)..];

    private static async Task<ClusterEntity> ActiveClusterAsync(AwsCall call, string reference)
    {
        var name = ClusterName(reference);
        await using var db = await DbAsync(call);
        return await db.Clusters.AsNoTracking().FirstOrDefaultAsync(c => c.Name == name && c.Status == "ACTIVE", call.Context.RequestAborted)
               ?? throw ClusterNotFound();
    }
}
