namespace Registry.Data.Entities;

/// <summary>A machine running <c>registry agent</c>, registered in one cluster with the resources it offers.</summary>
public sealed class ContainerInstanceEntity
{
    public long Id { get; set; }

    /// <summary>The id in the instance's ARN (<c>container-instance/&lt;cluster&gt;/&lt;id&gt;</c>): 32 hex digits.</summary>
    public required string InstanceId { get; set; }

    public long ClusterId { get; set; }

    /// <summary>The host's own id as the agent reports it (ECS's ec2InstanceId).</summary>
    public required string Ec2InstanceId { get; set; }

    /// <summary><c>ACTIVE</c>, <c>DRAINING</c>, or <c>INACTIVE</c> once deregistered.</summary>
    public required string Status { get; set; }

    /// <summary>
    /// The principal that registered the instance: only it may poll as the instance (and so receive its
    /// tasks' role credentials) and report on its tasks. Empty for instances registered before this was kept.
    /// </summary>
    public string RegisteredBy { get; set; } = "";

    /// <summary>The address the instance's published ports are reached at (what a load balancer sends to).</summary>
    public string Address { get; set; } = "";

    public bool AgentConnected { get; set; }

    public DateTime LastHeartbeatAt { get; set; }

    public DateTime RegisteredAt { get; set; }

    /// <summary>CPU units offered (1024 per core).</summary>
    public int Cpu { get; set; }

    /// <summary>Memory offered, MiB (after ECS_RESERVED_MEMORY).</summary>
    public int Memory { get; set; }

    /// <summary>Host ports tasks may not use (ECS_RESERVED_PORTS), comma-separated.</summary>
    public required string ReservedPorts { get; set; }

    /// <summary>Attributes as JSON (<c>[{"name":..,"value":..}]</c>): the agent's and the user's, for memberOf constraints.</summary>
    public required string Attributes { get; set; }

    /// <summary>The runtime the agent runs tasks with: <c>docker</c> or <c>runc</c>.</summary>
    public required string Runtime { get; set; }

    public required string AgentVersion { get; set; }

    /// <summary>Raised on every change, as ECS's <c>version</c>.</summary>
    public long Version { get; set; }
}
