using System.Net;
using System.Net.Sockets;

namespace Registry.Tests.Support;

/// <summary>
/// A loopback TCP forwarder to a real server (PostgreSQL, S3) that a test can take down and bring back,
/// as a network failure or a restarting backend would: while down it cuts every open connection and
/// drops new ones as soon as they arrive.
/// </summary>
public sealed class TcpFaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<TcpClient> _open = [];
    private readonly Task _accepting;
    private volatile bool _down;

    public TcpFaultProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Cuts every connection and refuses new ones until <see cref="Up"/>.</summary>
    public void Down()
    {
        _down = true;
        lock (_open)
        {
            foreach (var client in _open)
            {
                client.Client.Close(0);
            }

            _open.Clear();
        }
    }

    public void Up() => _down = false;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Down();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient incoming;
            try
            {
                incoming = await _listener.AcceptTcpClientAsync(_stopping.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            if (_down)
            {
                incoming.Client.Close(0);
                continue;
            }

            _ = ForwardAsync(incoming);
        }
    }

    private async Task ForwardAsync(TcpClient incoming)
    {
        using var outgoing = new TcpClient();
        using (incoming)
        {
            try
            {
                await outgoing.ConnectAsync(_targetHost, _targetPort, _stopping.Token);
                lock (_open)
                {
                    _open.Add(incoming);
                    _open.Add(outgoing);
                }

                var a = incoming.GetStream().CopyToAsync(outgoing.GetStream(), _stopping.Token);
                var b = outgoing.GetStream().CopyToAsync(incoming.GetStream(), _stopping.Token);
                await Task.WhenAny(a, b);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A cut connection is what this proxy is for.
            }
            finally
            {
                lock (_open)
                {
                    _open.Remove(incoming);
                    _open.Remove(outgoing);
                }
            }
        }
    }
}
