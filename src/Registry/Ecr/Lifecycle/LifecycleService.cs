using Microsoft.Extensions.Options;
using Registry.Hosting;

namespace Registry.Ecr.Lifecycle;

/// <summary>Runs every repository's lifecycle policy every <see cref="LifecycleOptions.Interval"/>, logging what expired.</summary>
internal sealed partial class LifecycleService(LifecycleRunner runner, IOptions<LifecycleOptions> options, TimeProvider clock, ILogger<LifecycleService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, clock);
        while (await PeriodicTicks.NextAsync(timer, stoppingToken))
        {
            try
            {
                foreach (var image in await runner.RunAsync(null, stoppingToken))
                {
                    Log.Expired(logger, image.Repository, image.Digest, string.Join(',', image.Tags), image.RulePriority);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                Log.Failed(logger, e);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Lifecycle policy of {Repository} expired {Digest} (tags {Tags}) by rule {RulePriority}")]
        public static partial void Expired(ILogger logger, string repository, string digest, string tags, int rulePriority);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Running lifecycle policies failed; the next run retries")]
        public static partial void Failed(ILogger logger, Exception exception);
    }
}
