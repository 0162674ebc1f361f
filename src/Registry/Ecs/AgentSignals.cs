using System.Collections.Concurrent;

namespace Registry.Ecs;

/// <summary>
/// Wakes an agent's long poll when its tasks change (placed, stopped), so it hears at once rather than at
/// its next heartbeat. In-process only: with several replicas an agent polling another replica hears
/// on that poll's timeout instead.
/// </summary>
internal sealed class AgentSignals
{
    private readonly ConcurrentDictionary<long, TaskCompletionSource> _waiting = new();

    /// <summary>A task that completes at the next <see cref="Wake"/> for the instance. Take it before reading the instance's state.</summary>
    public Task Next(long instanceId) =>
        _waiting.GetOrAdd(instanceId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Wake(IEnumerable<long> instanceIds)
    {
        foreach (var id in instanceIds.Distinct())
        {
            if (_waiting.TryRemove(id, out var waiting))
            {
                waiting.TrySetResult();
            }
        }
    }
}
