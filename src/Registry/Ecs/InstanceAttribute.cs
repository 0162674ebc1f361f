using System.Text.Json;

namespace Registry.Ecs;

/// <summary>A container instance attribute (<c>{"name", "value"}</c>), as agents report them and memberOf constraints read them.</summary>
internal sealed record InstanceAttribute(string Name, string? Value)
{
    /// <summary>The attribute an agent names its runtime with: <c>docker</c> or <c>runc</c>.</summary>
    public const string Runtime = "registry.runtime";

    /// <summary>
    /// Where the instance's published ports are reached, when not at the address it registered from
    /// (set with ECS_INSTANCE_ATTRIBUTES, e.g. behind NAT or a proxy).
    /// </summary>
    public const string Address = "registry.instance-address";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
}

/// <summary>What the tasks placed on one instance hold until they stop.</summary>
internal sealed record InstanceUsage(int Cpu, int Memory, int Running, int Pending, List<int> HostPorts);
