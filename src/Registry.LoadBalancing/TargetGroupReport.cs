namespace Registry.LoadBalancing;

/// <summary>What <c>GET /admin/v1/target-groups</c> shows: each group's listener and rule, and its targets' health as this balancer sees it.</summary>
public static class TargetGroupReport
{
    public static object Describe(TargetGroups groups, TargetTable table) => new
    {
        targetGroups = groups.ByName.Values.OrderBy(g => g.Name, StringComparer.Ordinal).Select(g => new
        {
            name = g.Name,
            listener = g.Listener.GetLeftPart(UriPartial.Authority),
            host = g.Options.Host,
            pathPrefix = g.Options.PathPrefix,
            targets = table.Targets(g.Name).Select(t => new
            {
                taskId = t.TaskId,
                address = t.Address,
                port = t.Port,
                health = TargetHealthTracker.Describe(t.State),
                inFlight = t.Outstanding,
            }),
        }),
    };
}
