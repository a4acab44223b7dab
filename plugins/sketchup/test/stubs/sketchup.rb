# frozen_string_literal: true

# Test stand-ins for the parts of SketchUp's Ruby API the extension uses. `require 'sketchup.rb'`
# finds this file when test/stubs is on the load path, as the real one is inside SketchUp.
# They record calls; Sketchup::Http::Request does real HTTP through Net::HTTP (synchronously),
# and UI timers fire only when a test calls UI.fire_timers.

require 'json'
require_relative '../support/net_http_transport'

$stub_loaded_files = []

def file_loaded?(name)
  $stub_loaded_files.include?(name)
end

def file_loaded(name)
  $stub_loaded_files << name
end

module Geom
  Point3d = Struct.new(:x, :y, :z)
end

module Sketchup
  class << self
    attr_accessor :active_model
    attr_reader :extensions, :defaults

    def reset_stubs
      @extensions = []
      @defaults = {}
      @active_model = Model.new
    end

    def register_extension(extension, load)
      @extensions << [extension, load]
      true
    end

    def read_default(section, key, default = nil)
      @defaults.fetch([section, key], default)
    end

    def write_default(section, key, value)
      # The real one accepts strings, numbers and booleans only.
      raise TypeError, "write_default(#{key}): #{value.class}" unless [String, Integer, Float, TrueClass, FalseClass].include?(value.class)

      @defaults[[section, key]] = value
      true
    end
  end

  Bounds = Struct.new(:width, :max, :min) do
    def valid?
      true
    end
  end

  class Entities
    attr_reader :images

    def initialize
      @images = []
    end

    def add_image(path, point, width)
      @images << [path, point, width]
      :image
    end
  end

  class View
    attr_accessor :vpwidth, :vpheight, :png, :written
    attr_reader :exports

    def initialize
      @vpwidth = 1600
      @vpheight = 900
      @exports = []
      @written = true
    end

    def write_image(options)
      @exports << options
      File.binwrite(options[:filename], png) if png && written
      written
    end
  end

  class Model
    attr_accessor :path
    attr_reader :active_view, :active_entities, :operations, :attributes

    def initialize
      @path = ''
      @active_view = View.new
      @active_entities = Entities.new
      @operations = []
      @attributes = {} # what set_attribute stores goes into the .skp: only the project code may
    end

    def bounds
      Bounds.new(400.0, Geom::Point3d.new(200.0, 100.0, 0), Geom::Point3d.new(-200.0, -100.0, 0))
    end

    def start_operation(name, _disable_ui = false)
      @operations << [:start, name]
    end

    def commit_operation
      @operations << [:commit]
    end

    def set_attribute(dictionary, key, value)
      @attributes[[dictionary, key]] = value
    end

    def get_attribute(dictionary, key, default = nil)
      @attributes.fetch([dictionary, key], default)
    end

    def delete_attribute(dictionary, key)
      @attributes.delete([dictionary, key])
    end
  end

  module Http
    GET = 'GET'
    POST = 'POST'
    STATUS_UNKNOWN = 0
    STATUS_SUCCESS = 1
    STATUS_PENDING = 2
    STATUS_CANCELED = 3
    STATUS_FAILED = 4

    Response = Struct.new(:status_code, :headers, :body)

    class Request
      class << self
        # nil: real HTTP with Net::HTTP; else a lambda(request) -> Response or nil (no answer yet).
        attr_accessor :handler
        attr_reader :instances
      end
      @instances = []

      attr_accessor :headers, :body
      attr_reader :url, :method, :status, :canceled

      def initialize(url, method = GET)
        @url = url
        @method = method
        @headers = {}
        @body = ''
        @status = STATUS_UNKNOWN
        @canceled = false
        self.class.instances << self
      end

      def start(&callback)
        @status = STATUS_PENDING
        @callback = callback
        response = self.class.handler ? self.class.handler.call(self) : perform
        answer(response) if response
        true
      end

      def answer(response)
        @status = response.status_code.zero? ? STATUS_FAILED : STATUS_SUCCESS
        @callback.call(self, response)
      end

      def cancel
        @canceled = true
        @status = STATUS_CANCELED
      end

      private

      def perform
        core = Tds::Render::Core::Request.new(method: method == POST ? :post : :get, url: url,
                                             headers: headers, body: body, timeout: 30)
        response = TdsTest::NetHttpTransport.perform(core)
        Response.new(response.status, response.headers, response.body)
      end
    end
  end
end

module UI
  class << self
    attr_reader :menus, :toolbars, :timers, :opened_urls, :dialogs

    def reset_stubs
      @menus = {}
      @toolbars = []
      @timers = {}
      @next_timer = 0
      @opened_urls = []
      @dialogs = []
    end

    def menu(name)
      @menus[name] ||= Menu.new(name)
    end

    def start_timer(seconds, repeat = false, &block)
      raise ArgumentError, 'repeating timers are not used' if repeat

      @next_timer += 1
      @timers[@next_timer] = [seconds, block]
      @next_timer
    end

    def stop_timer(id)
      @timers.delete(id)
      nil
    end

    # Runs every pending timer once (what time passing would do).
    def fire_timers
      due = @timers.values
      @timers.clear
      due.each { |_seconds, block| block.call }
      due.size
    end

    def openURL(url) # rubocop:disable Naming/MethodName
      @opened_urls << url
      true
    end
  end

  class Menu
    attr_reader :name, :items, :submenus

    def initialize(name)
      @name = name
      @items = []
      @submenus = {}
    end

    def add_submenu(name)
      @submenus[name] ||= Menu.new(name)
    end

    def add_item(item, &block)
      @items << [item, block]
      @items.size
    end
  end

  class Command
    attr_accessor :tooltip, :status_bar_text, :small_icon, :large_icon
    attr_reader :menu_text

    def initialize(menu_text, &block)
      @menu_text = menu_text
      @block = block
    end

    def invoke
      @block.call
    end
  end

  class Toolbar
    attr_reader :name, :items, :restored

    def initialize(name)
      @name = name
      @items = []
      UI.toolbars << self
    end

    def add_item(command)
      @items << command
    end

    def restore
      @restored = true
    end
  end

  class HtmlDialog
    STYLE_DIALOG = 1
    attr_reader :options, :file, :callbacks, :scripts

    def initialize(options)
      @options = options
      @callbacks = {}
      @scripts = []
      @visible = false
      UI.dialogs << self
    end

    def set_file(path)
      @file = path
    end

    def add_action_callback(name, &block)
      @callbacks[name] = block
    end

    def set_on_closed(&block)
      @on_closed = block
    end

    def show
      @visible = true
    end

    def visible?
      @visible
    end

    def bring_to_front
      true
    end

    def execute_script(script)
      @scripts << script
      true
    end

    # What the page's JavaScript would do: sketchup.<name>(arg).
    def trigger(name, arg = '')
      @callbacks.fetch(name).call(:action_context, arg)
    end

    # The last state pushed with tds.update(...).
    def last_state
      script = @scripts.reverse.find { |s| s.start_with?('tds.update(') }
      script && JSON.parse(script.sub(/\Atds\.update\(/, '').sub(/\)\z/, ''))
    end
  end
end

Sketchup.reset_stubs
UI.reset_stubs
