# Loads a Vagrantfile with a recording stand-in for Vagrant.configure and prints what it
# configured as JSON: machines, their networks, provider settings and provisioners.
require 'json'

class RecordedProvider
  attr_accessor :name, :memory, :cpus
  attr_reader :customizations

  def initialize
    @customizations = []
  end

  def customize(args)
    @customizations << args.map { |a| a == :id ? '{id}' : a }
  end

  def to_h
    { 'name' => @name, 'memory' => @memory, 'cpus' => @cpus, 'customize' => @customizations }
  end
end

class RecordedVm
  attr_accessor :box, :box_version, :hostname, :box_check_update
  attr_reader :networks, :provisions, :machines, :synced_folders, :providers

  def initialize
    @networks = []
    @provisions = []
    @machines = {}
    @synced_folders = []
    @providers = {}
  end

  def network(type, **options)
    @networks << { 'type' => type }.merge(options.transform_keys(&:to_s))
  end

  def synced_folder(source, destination, **options)
    @synced_folders << { 'source' => source, 'destination' => destination }.merge(options.transform_keys(&:to_s))
  end

  def provision(type, **options)
    @provisions << { 'type' => type }.merge(options.transform_keys(&:to_s))
  end

  def define(name)
    node = RecordedConfig.new
    yield node
    @machines[name] = node
  end

  def provider(name)
    provider = RecordedProvider.new
    yield provider
    @providers[name.to_s] = provider
  end

  def to_h
    {
      'box' => @box, 'box_version' => @box_version, 'hostname' => @hostname,
      'networks' => @networks, 'provisions' => @provisions,
      'providers' => @providers.transform_values(&:to_h),
      'synced_folders' => @synced_folders, 'box_check_update' => @box_check_update,
      'machines' => @machines.transform_values { |m| m.vm.to_h }
    }
  end
end

class RecordedConfig
  def vm
    @vm ||= RecordedVm.new
  end
end

module Vagrant
  def self.configure(version)
    raise "unexpected config version #{version}" unless version == '2'

    config = RecordedConfig.new
    yield config
    $recorded = config
  end
end

load ARGV.fetch(0)
puts JSON.pretty_generate($recorded.vm.to_h)
