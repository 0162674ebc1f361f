using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Registry.Data.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class LoadBalancing : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "DrainingUntil",
                table: "Tasks",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "TargetHealth",
                table: "Tasks",
                type: "TEXT",
                maxLength: 16,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "HealthCheckGracePeriodSeconds",
                table: "Services",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "LoadBalancers",
                table: "Services",
                type: "TEXT",
                nullable: false,
                defaultValue: "[]");

            migrationBuilder.AddColumn<string>(
                name: "Address",
                table: "ContainerInstances",
                type: "TEXT",
                maxLength: 255,
                nullable: false,
                defaultValue: "");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "DrainingUntil",
                table: "Tasks");

            migrationBuilder.DropColumn(
                name: "TargetHealth",
                table: "Tasks");

            migrationBuilder.DropColumn(
                name: "HealthCheckGracePeriodSeconds",
                table: "Services");

            migrationBuilder.DropColumn(
                name: "LoadBalancers",
                table: "Services");

            migrationBuilder.DropColumn(
                name: "Address",
                table: "ContainerInstances");
        }
    }
}
