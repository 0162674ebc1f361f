using System.Collections.Concurrent;
using System.Text.Json;

namespace Registry.Agent.Runtimes;

/// <summary>
/// Health checks for containers runc runs, as Docker runs them: the command (<c>CMD</c> args or a
/// <c>CMD-SHELL</c> string for /bin/sh -c) is executed inside the container every interval with a
/// timeout; a success makes it HEALTHY, <c>retries</c> failures in a row UNHEALTHY; failures within the
/// start period do not count. The check is kept in the bundle, so a restarted agent checks on.
/// </summary>
internal sealed class RuncHealth(Func<string, IReadOnlyList<string>, TimeSpan, CancellationToken, Task<bool>> execute)
{
    private const string FileName = "health.json";

    private readonly ConcurrentDictionary<string, State> _states = new(StringComparer.Ordinal);

    public static void Save(string bundle, HealthCheck? check)
    {
        if (check is not null)
        {
            File.WriteAllText(Path.Combine(bundle, FileName), JsonSerializer.Serialize(check));
        }
    }

    /// <summary>The container's health, running its check first when one is due.</summary>
    public async Task<string> CheckAsync(string runtimeId, string bundle, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var path = Path.Combine(bundle, FileName);
        if (!File.Exists(path) || JsonSerializer.Deserialize<HealthCheck>(await File.ReadAllTextAsync(path, cancellationToken)) is not { Command.Count: > 0 } check)
        {
            return "UNKNOWN";
        }

        var state = _states.GetOrAdd(runtimeId, _ => new State(now));
        if (now - state.LastRun < TimeSpan.FromSeconds(check.Interval) && state.LastRun != state.Started)
        {
            return state.Status;
        }

        state.LastRun = now;
        var command = check.Command[0] == "CMD-SHELL" ? ["/bin/sh", "-c", string.Join(' ', check.Command.Skip(1))] : check.Command.Skip(check.Command[0] == "CMD" ? 1 : 0).ToList();
        if (await execute(runtimeId, command, TimeSpan.FromSeconds(check.Timeout), cancellationToken))
        {
            state.Failures = 0;
            state.Status = "HEALTHY";
        }
        else if (now - state.Started >= TimeSpan.FromSeconds(check.StartPeriod) && ++state.Failures >= check.Retries)
        {
            state.Status = "UNHEALTHY";
        }

        return state.Status;
    }

    public void Forget(string runtimeId) => _states.TryRemove(runtimeId, out _);

    private sealed class State(DateTimeOffset started)
    {
        public DateTimeOffset Started { get; } = started;

        public DateTimeOffset LastRun { get; set; } = started;

        public int Failures { get; set; }

        public string Status { get; set; } = "UNKNOWN";
    }
}
