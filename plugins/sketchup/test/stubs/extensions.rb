# frozen_string_literal: true

# Test stand-in for SketchUp's extensions.rb: just enough SketchupExtension to register one.
class SketchupExtension
  attr_accessor :name, :path, :creator, :version, :copyright, :description

  def initialize(name, path)
    @name = name
    @path = path
  end
end
