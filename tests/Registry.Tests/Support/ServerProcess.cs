using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Registry.Tests.Support;

/// <summary>
/// A real <c>registry serve</c> process on a free loopback port, as users run it, for the
/// end-to-end tests (real clients, real Kestrel, kill -9).
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    public const string AdminPassword = "e2e-admin-password";

    private readonly StringBuilder _log = new();
    private readonly TestCertificates? _tls;
    private Process? _process;

    /// <param name="dataPath">The server's data folder.</param>
    /// <param name="tls">Serve https with these certificates instead of http.</param>
    public ServerProcess(string dataPath, TestCertificates? tls = null)
    {
        DataPath = dataPath;
        Port = FreePort();
        _tls = tls;
    }

    public string DataPath { get; }

    /// <summary>Extra environment for the process (configuration as <c>REGISTRY_Section__Key</c>).</summary>
    public Dictionary<string, string> Environment { get; } = [];

    public int Port { get; }

    public string HostPort => $"127.0.0.1:{Port}";

    public Uri BaseAddress => new($"{(_tls is null ? "http" : "https")}://{HostPort}");

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

    public async Task StartAsync()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "registry.dll"), "serve", "--urls", BaseAddress.ToString().TrimEnd('/'), "--data", DataPath })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["REGISTRY_ADMIN_PASSWORD"] = AdminPassword;
        foreach (var (name, value) in Environment)
        {
            start.Environment[name] = value;
        }

        if (_tls is not null)
        {
            start.Environment["REGISTRY_Tls__CertificatePath"] = _tls.CertificatePath;
            start.Environment["REGISTRY_Tls__KeyPath"] = _tls.KeyPath;
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var client = NewClient();
        client.Timeout = TimeSpan.FromSeconds(2);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"registry exited with {_process.ExitCode}:\n{Log}");
            }

            try
            {
                var response = await client.GetAsync("/v2/");
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Not answering yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"registry did not start:\n{Log}");
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushing, as a crash or <c>kill -9</c>.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public HttpClient CreateClient()
    {
        var client = NewClient();
        client.DefaultRequestHeaders.Authorization = RegistryFixture.Basic("admin", AdminPassword);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }

    private HttpClient NewClient() =>
        _tls?.CreateClient(BaseAddress, HttpVersion.Version11) ?? new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(5) };

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
