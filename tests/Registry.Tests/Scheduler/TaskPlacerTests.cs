using Registry.Scheduler.Placement;

namespace Registry.Tests.Scheduler;

public sealed class TaskPlacerTests
{
    private static InstanceCapacity Instance(int id, int cpu = 2048, int memory = 2048, bool connected = true, string zone = "a", params int[] usedPorts) => new()
    {
        Id = id,
        Arn = $"arn:aws:ecs:us-east-1:000000000000:container-instance/c/{id}",
        Ec2InstanceId = $"i-{id}",
        Connected = connected,
        RemainingCpu = cpu,
        RemainingMemory = memory,
        UsedPorts = [.. usedPorts],
        Attributes = new Dictionary<string, string?> { ["zone"] = zone, ["registry.runtime"] = id % 2 == 0 ? "runc" : "docker" },
        TaskGroups = [],
    };

    private static readonly TaskDemand Small = new(256, 256, [], "family:web");

    [Fact]
    public void Binpack_on_memory_fills_the_fullest_instance_first()
    {
        var instances = new[] { Instance(1, memory: 2048), Instance(2, memory: 1024), Instance(3, memory: 4096) };

        var result = TaskPlacer.Place(instances, Small, 3, [PlacementStrategy.Create("binpack", "memory")], [], new Random(1));

        Assert.Equal([2, 2, 2], result.Placed.Select(i => (int)i.Id));
        Assert.Equal(1024 - (3 * 256), instances[1].RemainingMemory);
        Assert.Empty(result.Failures);
    }

    [Fact]
    public void Spread_by_instance_puts_one_task_on_each_before_doubling_up()
    {
        var instances = new[] { Instance(1), Instance(2), Instance(3) };

        var result = TaskPlacer.Place(instances, Small, 4, [PlacementStrategy.Create("spread", "instanceId")], [], new Random(7));

        Assert.Equal(3, result.Placed.Take(3).Select(i => i.Id).Distinct().Count());
        Assert.Equal(4, result.Placed.Count);
    }

    [Fact]
    public void Spread_by_attribute_balances_the_attribute_values()
    {
        var instances = new[] { Instance(1, zone: "a"), Instance(2, zone: "a"), Instance(3, zone: "b") };

        var result = TaskPlacer.Place(instances, Small, 2, [PlacementStrategy.Create("spread", "attribute:zone")], [], new Random(3));

        Assert.Equal(["a", "b"], result.Placed.Select(i => i.Attributes["zone"]).Order());
    }

    [Fact]
    public void Distinct_instance_refuses_a_second_task_of_the_group_and_reports_why()
    {
        var instances = new[] { Instance(1), Instance(2) };

        var result = TaskPlacer.Place(instances, Small, 3, [], [PlacementConstraint.Create("distinctInstance", null)], new Random(1));

        Assert.Equal(2, result.Placed.Select(i => i.Id).Distinct().Count());
        Assert.Equal(2, result.Placed.Count);
        Assert.All(result.Failures, f => Assert.Equal("DistinctInstance placement constraint unsatisfied.", f.Reason));
    }

    [Fact]
    public void Resources_ports_and_disconnected_agents_are_reasons_to_refuse()
    {
        var instances = new[] { Instance(1, cpu: 128), Instance(2, memory: 128), Instance(3, usedPorts: 8080), Instance(4, connected: false) };

        var result = TaskPlacer.Place(instances, new TaskDemand(256, 256, [8080], "family:web"), 1, [], [], new Random(1));

        Assert.Empty(result.Placed);
        Assert.Equal(
            ["RESOURCE:CPU", "RESOURCE:MEMORY", "RESOURCE:PORTS", "AGENT"],
            result.Failures.OrderBy(f => f.Arn, StringComparer.Ordinal).Select(f => f.Reason));
    }

    [Fact]
    public void Placed_tasks_take_their_ports_so_the_next_copy_goes_elsewhere()
    {
        var instances = new[] { Instance(1), Instance(2) };

        var result = TaskPlacer.Place(instances, new TaskDemand(10, 10, [80], "family:web"), 3, [PlacementStrategy.Create("binpack", "cpu")], [], new Random(1));

        Assert.Equal(2, result.Placed.Count);
        Assert.NotEqual(result.Placed[0].Id, result.Placed[1].Id);
        Assert.Contains(result.Failures, f => f.Reason == "RESOURCE:PORTS");
    }

    [Theory]
    [InlineData("attribute:zone == b", new[] { 3 })]
    [InlineData("attribute:zone != b and attribute:registry.runtime == runc", new[] { 2 })]
    [InlineData("attribute:zone in [b, c] or ec2InstanceId == i-1", new[] { 1, 3 })]
    [InlineData("attribute:registry.runtime =~ doc*", new[] { 1, 3 })]
    [InlineData("attribute:missing exists", new int[0])]
    [InlineData("attribute:missing not_exists and (attribute:zone not_in [a])", new[] { 3 })]
    public void Member_of_selects_instances_by_expression(string expression, int[] expected)
    {
        var instances = new[] { Instance(1, zone: "a"), Instance(2, zone: "a"), Instance(3, zone: "b") };
        var constraint = PlacementConstraint.Create("memberOf", expression);

        var allowed = instances.Where(i => TaskPlacer.Rejection(i, Small, [constraint]) is null).Select(i => (int)i.Id);

        Assert.Equal(expected, allowed);
    }

    [Theory]
    [InlineData("binpack", "disk")]
    [InlineData("spread", null)]
    [InlineData("fastest", null)]
    public void Unknown_strategies_are_refused(string type, string? field) =>
        Assert.Throws<PlacementException>(() => PlacementStrategy.Create(type, field));

    [Theory]
    [InlineData("memberOf", null)]
    [InlineData("memberOf", "attribute:zone ==")]
    [InlineData("memberOf", "attribute:zone === a")]
    [InlineData("memberOf", "attribute:zone in [a, b")]
    [InlineData("memberOf", "zone == a")]
    [InlineData("distinctInstance", "attribute:zone == a")]
    [InlineData("sameInstance", null)]
    public void Malformed_constraints_are_refused(string type, string? expression) =>
        Assert.Throws<PlacementException>(() => PlacementConstraint.Create(type, expression));
}
