namespace Registry.LoadBalancing;

/// <summary>
/// One task's container port in a target group: where requests go, its health, and how many requests
/// it is serving now (the balancer sends the next request to the least busy healthy target).
/// </summary>
public sealed class Target
{
    private readonly Lock _gate = new();
    private readonly TargetHealthTracker _health;
    private int _outstanding;

    public Target(TargetGroup group, string taskId, string address, int port, TargetHealthState initial = TargetHealthState.Initial)
    {
        Group = group;
        TaskId = taskId;
        Address = address;
        Port = port;
        Prefix = new UriBuilder(Uri.UriSchemeHttp, address, port).Uri;
        _health = new TargetHealthTracker(group.Options.HealthyThreshold, group.Options.UnhealthyThreshold, initial);
    }

    public TargetGroup Group { get; }

    public string TaskId { get; }

    public string Address { get; }

    public int Port { get; }

    /// <summary>The destination prefix requests are forwarded to: <c>http://address:port/</c>.</summary>
    public Uri Prefix { get; }

    public TargetHealthState State
    {
        get
        {
            lock (_gate)
            {
                return _health.State;
            }
        }
    }

    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>Counts a health check; true when the target's state changed.</summary>
    public bool Record(bool passed)
    {
        lock (_gate)
        {
            return _health.Record(passed);
        }
    }

    /// <summary>A request starts going to this target; dispose the result when it is done.</summary>
    public IDisposable Begin()
    {
        Interlocked.Increment(ref _outstanding);
        return new Request(this);
    }

    private sealed class Request(Target target) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                Interlocked.Decrement(ref target._outstanding);
            }
        }
    }
}
