using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Registry.Agent.Runtimes;

/// <summary>
/// Host ports for port mappings with hostPort 0, picked as the ECS agent picks them: from the kernel's
/// ephemeral range, never one of ECS_RESERVED_PORTS (Docker's own choice could land on 51678, say), never
/// one already taken by this task or listened on by anything on the machine.
/// </summary>
public static class DynamicHostPorts
{
    private const int Attempts = 500;

    /// <summary>The kernel's ephemeral port range (<c>net.ipv4.ip_local_port_range</c>), 32768–60999 where it cannot be read.</summary>
    public static (int Low, int High) EphemeralRange()
    {
        try
        {
            var bounds = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return (int.Parse(bounds[0], CultureInfo.InvariantCulture), int.Parse(bounds[1], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return (32768, 60999);
        }
    }

    /// <summary>Each of a bridge container's port mappings' host port: the one given, or for hostPort 0 one picked outside <paramref name="reserved"/>.</summary>
    public static List<int> For(ContainerSpec spec, IReadOnlyCollection<int> reserved)
    {
        var (low, high) = EphemeralRange();
        var taken = spec.PortMappings.Where(p => p.HostPort != 0).Select(p => p.HostPort).ToHashSet();
        return spec.PortMappings
            .Select(p => p.HostPort != 0 || spec.NetworkMode != "bridge" ? p.HostPort : Pick(low, high, reserved, taken, p.Protocol, Random.Shared))
            .ToList();
    }

    /// <summary>A free port in [<paramref name="low"/>, <paramref name="high"/>] that is neither reserved nor taken; it is added to <paramref name="taken"/>.</summary>
    public static int Pick(int low, int high, IReadOnlyCollection<int> reserved, ISet<int> taken, string protocol, Random random)
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var port = random.Next(low, high + 1);
            if (!reserved.Contains(port) && !taken.Contains(port) && IsFree(port, protocol))
            {
                taken.Add(port);
                return port;
            }
        }

        throw new ImagePullException($"CannotStartContainerError: no free {protocol} host port in {low}-{high} outside ECS_RESERVED_PORTS");
    }

    private static bool IsFree(int port, string protocol)
    {
        using var socket = protocol == "udp"
            ? new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)
            : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Any, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
