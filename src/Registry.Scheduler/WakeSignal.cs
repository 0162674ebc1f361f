namespace Registry.Scheduler;

/// <summary>
/// Wakes a periodic loop early: any number of <see cref="Set"/> calls between two waits make one early
/// pass (the loop re-reads everything, so one pass serves them all).
/// </summary>
public sealed class WakeSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    /// <summary>Asks for a pass now.</summary>
    public void Set()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // A pass is already asked for.
        }
    }

    /// <summary>Waits until <see cref="Set"/> or <paramref name="interval"/>, whichever comes first.</summary>
    public Task WaitAsync(TimeSpan interval, CancellationToken cancellationToken) => _signal.WaitAsync(interval, cancellationToken);

    public void Dispose() => _signal.Dispose();
}

/// <summary>
/// A launcher that runs tasks somewhere other than on agents (the Kubernetes launcher), which the API
/// and the service scheduler wake when tasks or services change. Known by this interface, its own
/// assembly and client library load only where one is configured.
/// </summary>
public interface ITaskLauncher
{
    void Wake();
}
