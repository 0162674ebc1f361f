namespace Registry.LoadBalancing;

/// <summary>
/// The built-in load balancer (section <c>LoadBalancer</c>): target groups, each reached through a
/// listener URL and, optionally, a host and path rule. Services name a target group in their
/// <c>loadBalancers</c>; the balancer routes to those services' healthy tasks.
/// </summary>
public sealed class LoadBalancerOptions
{
    public const string SectionName = "LoadBalancer";

    /// <summary>Target groups by name (what a service's targetGroupArn ends in: <c>targetgroup/&lt;name&gt;</c>).</summary>
    public Dictionary<string, TargetGroupOptions> TargetGroups { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// One target group: where it listens, which requests are its own, how its targets are checked and
/// how long a target being removed keeps its requests (ALB's settings, with defaults for small clusters).
/// </summary>
public sealed class TargetGroupOptions
{
    /// <summary>The listener, <c>http://address:port</c>. Groups may share a listener with different rules.</summary>
    public string Listener { get; set; } = "";

    /// <summary>Only requests for this host (<c>api.example.com</c>, or <c>*.example.com</c>); any host when empty.</summary>
    public string? Host { get; set; }

    /// <summary>Only requests under this path (whole segments: <c>/api</c> takes <c>/api</c> and <c>/api/x</c>, not <c>/apix</c>).</summary>
    public string PathPrefix { get; set; } = "/";

    public string HealthCheckPath { get; set; } = "/";

    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Consecutive passed checks that make a new or unhealthy target healthy.</summary>
    public int HealthyThreshold { get; set; } = 2;

    /// <summary>Consecutive failed checks that make a target unhealthy.</summary>
    public int UnhealthyThreshold { get; set; } = 2;

    /// <summary>HTTP status codes a health check passes with: <c>200</c>, <c>200,204</c> or <c>200-399</c>.</summary>
    public string SuccessCodes { get; set; } = "200";

    /// <summary>How long a target leaving the group keeps its in-flight requests before its task is stopped.</summary>
    public TimeSpan DeregistrationDelay { get; set; } = TimeSpan.FromSeconds(30);
}
