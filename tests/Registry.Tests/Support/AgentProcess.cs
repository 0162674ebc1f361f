using System.Diagnostics;
using System.Text;

namespace Registry.Tests.Support;

/// <summary>A real <c>registry agent --config FILE</c> process, as users run it on a worker machine.</summary>
/// <param name="configPath">The ecs.config file.</param>
/// <param name="environment">Variables set for the agent (they override the config file, as the agent reads them last).</param>
public sealed class AgentProcess(string configPath, IReadOnlyDictionary<string, string>? environment = null) : IDisposable
{
    private readonly StringBuilder _log = new();
    private Process? _process;

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public void Start()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "registry.dll"), "agent", "--config", configPath })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The exit code once the agent has exited on its own within <paramref name="timeout"/>.</summary>
    public async Task<int> ExitCodeAsync(TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        await _process!.WaitForExitAsync(limit.Token);
        return _process.ExitCode;
    }

    public bool HasExited => _process!.HasExited;

    /// <summary>SIGKILL, as a crash: the agent gets no chance to tidy up.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process?.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}
