namespace Registry.Hosting;

/// <summary>
/// Trims the native heap every few seconds (<see cref="NativeHeap"/> says why). A trim walks the two
/// arenas and takes well under a millisecond, so the period is short enough that memory freed by one
/// burst of requests is gone before the next.
/// </summary>
internal sealed class NativeHeapTrimmer : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        while (await PeriodicTicks.NextAsync(timer, stoppingToken))
        {
            NativeHeap.Trim();
        }
    }
}
