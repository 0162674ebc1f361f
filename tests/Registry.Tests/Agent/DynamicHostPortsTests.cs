using System.Net;
using System.Net.Sockets;
using Registry.Agent.Runtimes;

namespace Registry.Tests.Agent;

public sealed class DynamicHostPortsTests
{
    [Fact]
    public void Reserved_taken_and_listened_on_ports_are_never_picked()
    {
        using var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        var busy = ((IPEndPoint)listener.LocalEndpoint).Port;
        var low = busy - 2;
        var taken = new HashSet<int> { busy - 1 };

        var picked = DynamicHostPorts.Pick(low, busy + 1, [busy - 2], taken, "tcp", new Random(7));

        Assert.Equal(busy + 1, picked);
        Assert.Contains(picked, taken);
    }

    [Fact]
    public void With_no_port_left_the_container_cannot_start_and_says_why()
    {
        var error = Assert.Throws<ImagePullException>(() => DynamicHostPorts.Pick(40000, 40001, [40000], new HashSet<int> { 40001 }, "tcp", new Random(7)));

        Assert.Equal("CannotStartContainerError: no free tcp host port in 40000-40001 outside ECS_RESERVED_PORTS", error.Message);
    }

    [Fact]
    public void The_range_is_the_kernels_ephemeral_range()
    {
        var (low, high) = DynamicHostPorts.EphemeralRange();

        Assert.InRange(low, 1024, high);
        Assert.InRange(high, low, 65535);
    }
}
