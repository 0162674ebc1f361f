using System.ComponentModel;
using Microsoft.Extensions.Logging;
using Registry.Agent.Runtimes;

namespace Registry.Agent.Credentials;

/// <summary>
/// Makes 169.254.170.2:80, where bridge tasks' SDKs look for credentials, reach the loopback endpoint,
/// with the rules ecs-init sets: DNAT from the containers' bridge (route_localnet lets it land on
/// 127.0.0.1), a redirect for this host's own processes, and a drop of anything else sent to the
/// loopback addresses from outside. Rules already present are left as they are.
/// </summary>
internal static partial class CredentialsRoute
{
    public const string Address = "169.254.170.2";

    public static async Task RouteAsync(int port, ILogger logger, CancellationToken cancellationToken)
    {
        // The drop comes first and route_localnet last: loopback is never reachable from outside, even
        // when a later rule cannot be added.
        string[][] rules =
        [
            ["-t", "filter", "INPUT", "--dst", "127.0.0.0/8", "!", "--src", "127.0.0.0/8", "-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "DROP"],
            ["-t", "nat", "PREROUTING", "-d", Address + "/32", "-p", "tcp", "--dport", "80", "-j", "DNAT", "--to-destination", $"127.0.0.1:{port}"],
            ["-t", "nat", "OUTPUT", "-d", Address + "/32", "-p", "tcp", "--dport", "80", "-j", "REDIRECT", "--to-ports", $"{port}"],
        ];
        try
        {
            foreach (var rule in rules)
            {
                var (table, chain, match) = (rule[..2], rule[2], rule[3..]);
                if ((await Tools.RunAsync("iptables", [.. table, "-C", chain, .. match], cancellationToken)).ExitCode != 0)
                {
                    var added = await Tools.RunAsync("iptables", [.. table, chain == "INPUT" ? "-I" : "-A", chain, .. match], cancellationToken);
                    if (added.ExitCode != 0)
                    {
                        throw new IOException($"iptables {string.Join(' ', rule)}: {added.Error.Trim()}");
                    }
                }
            }

            await File.WriteAllTextAsync("/proc/sys/net/ipv4/conf/all/route_localnet", "1", cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Win32Exception)
        {
            Log.NotRouted(logger, port, e.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Bridge tasks cannot reach their credentials at 169.254.170.2 (tasks on the host network still can, at 127.0.0.1:{Port}): {Reason}")]
        public static partial void NotRouted(ILogger logger, int port, string reason);
    }
}
