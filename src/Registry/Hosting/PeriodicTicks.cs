namespace Registry.Hosting;

/// <summary>The loop condition of the registry's periodic background work.</summary>
internal static class PeriodicTicks
{
    /// <summary>
    /// Waits for the next tick; false once stopping. Stopping ends the loop quietly, also when the host is
    /// disposed without having been stopped (a failed start).
    /// </summary>
    public static async Task<bool> NextAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
