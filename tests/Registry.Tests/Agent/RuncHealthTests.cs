using Registry.Agent.Runtimes;

namespace Registry.Tests.Agent;

public sealed class RuncHealthTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private readonly string _bundle = Directory.CreateTempSubdirectory("bundle-").FullName;

    public void Dispose() => Directory.Delete(_bundle, recursive: true);

    [Fact]
    public async Task Retries_failures_in_a_row_make_it_unhealthy_and_a_success_healthy_again()
    {
        RuncHealth.Save(_bundle, new HealthCheck(["CMD-SHELL", "test -e /ready"], Interval: 5, Timeout: 2, Retries: 2, StartPeriod: 0));
        var results = new Queue<bool>([true, false, false, true]);
        IReadOnlyList<string>? ran = null;
        var health = new RuncHealth((_, command, _, _) =>
        {
            ran = command;
            return Task.FromResult(results.Dequeue());
        });

        Assert.Equal("HEALTHY", await health.CheckAsync("c", _bundle, Start, CancellationToken.None));
        Assert.Equal("HEALTHY", await health.CheckAsync("c", _bundle, Start.AddSeconds(2), CancellationToken.None));
        Assert.Equal("HEALTHY", await health.CheckAsync("c", _bundle, Start.AddSeconds(5), CancellationToken.None));
        Assert.Equal("UNHEALTHY", await health.CheckAsync("c", _bundle, Start.AddSeconds(10), CancellationToken.None));
        Assert.Equal("HEALTHY", await health.CheckAsync("c", _bundle, Start.AddSeconds(15), CancellationToken.None));
        Assert.Equal(["/bin/sh", "-c", "test -e /ready"], ran);
    }

    [Fact]
    public async Task Failures_in_the_start_period_do_not_count_and_no_check_is_unknown()
    {
        RuncHealth.Save(_bundle, new HealthCheck(["CMD", "/bin/check", "--quick"], Interval: 5, Timeout: 2, Retries: 1, StartPeriod: 30));
        IReadOnlyList<string>? ran = null;
        var health = new RuncHealth((_, command, _, _) =>
        {
            ran = command;
            return Task.FromResult(false);
        });

        Assert.Equal("UNKNOWN", await health.CheckAsync("c", _bundle, Start, CancellationToken.None));
        Assert.Equal("UNKNOWN", await health.CheckAsync("c", _bundle, Start.AddSeconds(25), CancellationToken.None));
        Assert.Equal("UNHEALTHY", await health.CheckAsync("c", _bundle, Start.AddSeconds(30), CancellationToken.None));
        Assert.Equal(["/bin/check", "--quick"], ran);
        Assert.Equal("UNKNOWN", await new RuncHealth((_, _, _, _) => Task.FromResult(true)).CheckAsync("d", Path.Combine(_bundle, "none"), Start, CancellationToken.None));
    }
}
